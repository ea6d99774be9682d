"""Nothing published into the void, nothing silently acked away, poison parked with its reason.

Real services run in nameko containers on the real broker and database.
"""

import json

from kombu import Connection
from pymongo.errors import AutoReconnect

from services.funding import domain as funding
from services.funding.service import FundingService
from services.funding.store import FundingStore
from services.grid.service import GridService
from services.petition.service import PetitionService
from services.petition.store import PetitionStore
from shared.broker import DEAD_LETTERS, event_exchange, queue_name
from shared.catalogue import CATALOGUE
from shared.consumers import MAX_ATTEMPTS, subscribe
from shared.events import new_event, now
from tests.conftest import poll

DISPATCH_QUEUE = queue_name("petition", "petition.accepted.v1", "grid", "dispatch")
GRID = {"grid_id": "g01", "name": "Hexi grid 1", "community_id": "c-hexi",
        "community_type": "industrial", "workstation_id": "ws-1", "households": 233,
        "population": 553, "revision": 1}


def accepted(petition_id, grid_id="g01"):
    return new_event(CATALOGUE, "petition.accepted.v1", "petition", petition_id, {
        "petition_id": petition_id, "grid_id": grid_id, "community_id": "c-hexi",
        "category": "drains", "location": {"lat": 30.1, "lng": 120.1, "address": None},
        "round": 1, "actor": "system"}, "corr-1")


def completed(task_id, cost_fen=5_000):
    return new_event(CATALOGUE, "task.completed.v1", "volunteer", task_id, {
        "task_id": task_id, "petition_id": task_id[2:], "round": 1, "team_id": "team-drain-repair",
        "volunteer_id": "v1", "hours": 1.0, "cost_fen": cost_fen,
        "funding": {"department_id": "housing", "budget_line": "public_infrastructure",
                    "fiscal_year": 2026, "estimate_fen": cost_fen, "centre_id": "centre-c-hexi"}},
        "corr-2")


def fund(db_of, amount_fen=100_000):
    """The housing line has money, so completions can be paid."""
    FundingStore(db_of("funding")).post(funding.allocate({
        "allocation_id": "test", "department_id": "housing", "budget_line": "public_infrastructure",
        "fiscal_year": 2026, "amount_fen": amount_fen, "approved_by": "test"}, now()))


def queue_depth(config, name):
    with Connection(config["AMQP_URI"]) as connection:
        return connection.default_channel.queue_declare(name, passive=True).message_count


def dead_letters(config):
    """Take everything off the dead-letter queue: [(reason, raw body)]."""
    found = []
    with Connection(config["AMQP_URI"]) as connection:
        channel = connection.default_channel
        while (message := channel.basic_get(DEAD_LETTERS, no_ack=True)) is not None:
            found.append((message.headers["x-reason"], message.body))
    return found


def register_grid(db_of):
    db_of("grid").grids.insert_one({"_id": "g01", **{k: v for k, v in GRID.items()
                                                      if k != "grid_id"}})


def test_events_raised_before_their_consumer_first_starts_wait_for_it(
        start_service, isolated_config, db_of):
    # A petition was written with its event just before the service (re)started.
    event = accepted("P-1")
    PetitionStore(db_of("petition")).add({"_id": "P-1", "state": "accepted", "timeline": []},
                                         [event])
    start_service(PetitionService)

    # The grid service has never run, yet its queue already holds the event.
    poll(lambda: queue_depth(isolated_config, DISPATCH_QUEUE) == 1, what="the queued event")
    poll(lambda: not db_of("petition").petitions.find_one({"_id": "P-1"})["outbox_pending"],
         what="the outbox to drain")

    register_grid(db_of)
    start_service(GridService)
    dispatch = poll(lambda: db_of("grid").dispatches.find_one({"_id": "P-1/1"}), what="the dispatch")
    assert dispatch["handler"]["kind"] == "butler_team"


def test_poison_is_dead_lettered_with_its_reason_and_the_consumer_goes_on(
        start_service, isolated_config, db_of, broker):
    register_grid(db_of)
    start_service(GridService)
    exchange = event_exchange("petition").name
    broker.publish(b"{not json", exchange, "petition.accepted.v1", "m1")
    broker.publish(json.dumps({"specversion": "1.0", "id": "x"}), exchange,
                   "petition.accepted.v1", "m2")
    broker.publish(json.dumps(dict(accepted("P-2"), data={"petition_id": "P-2"})), exchange,
                   "petition.accepted.v1", "m3")
    broker.publish_event(accepted("P-1"))

    poll(lambda: db_of("grid").dispatches.find_one({"_id": "P-1/1"}), what="the good event")
    parked = poll(lambda: dead_letters(isolated_config), what="dead letters")
    reasons = [reason for reason, _ in parked]
    assert len(reasons) == 3
    assert reasons[0].startswith("cannot decode the body")
    assert reasons[1].startswith("envelope:") and "time" in reasons[1]
    assert reasons[2].startswith("data:") and "grid_id" in reasons[2]
    assert parked[0][1] in (b"{not json", "{not json")  # the body, byte for byte


def test_a_handler_that_fails_for_a_while_is_retried_until_it_succeeds(
        start_service, isolated_config, db_of, broker):
    class FlakyFunding(FundingService):
        outages = 2

        @subscribe("task.completed.v1")
        def settle(self, event):
            if FlakyFunding.outages:
                FlakyFunding.outages -= 1
                raise ConnectionError("database unreachable")
            FundingService.settle(self, event)

    start_service(FlakyFunding)
    fund(db_of)
    broker.publish_event(completed("T-P-7"))
    poll(lambda: db_of("funding").transactions.find_one({"_id": "capture:P-7/1"}),
         timeout=30, what="the settlement after two failures")
    assert FlakyFunding.outages == 0
    assert dead_letters(isolated_config) == []


def test_an_outage_outlasts_the_attempt_limit_and_is_retried_until_it_ends(
        start_service, isolated_config, db_of, broker):
    class UnreachableDatabase(FundingService):
        outages = MAX_ATTEMPTS + 2

        @subscribe("task.completed.v1")
        def settle(self, event):
            if UnreachableDatabase.outages:
                UnreachableDatabase.outages -= 1
                raise AutoReconnect("connection refused")
            FundingService.settle(self, event)

    start_service(UnreachableDatabase)
    fund(db_of)
    broker.publish_event(completed("T-P-9"))
    poll(lambda: db_of("funding").transactions.find_one({"_id": "capture:P-9/1"}),
         timeout=60, what="the settlement once the database is back")
    assert dead_letters(isolated_config) == []


def test_a_message_being_retried_does_not_hold_up_the_ones_behind_it(
        start_service, isolated_config, db_of, broker):
    attempts = []

    class OneBadLine(FundingService):
        @subscribe("task.completed.v1")
        def settle(self, event):
            if event.data["petition_id"] == "P-10":
                attempts.append(event.id)
                raise AutoReconnect("this line's shard is down")
            FundingService.settle(self, event)

    start_service(OneBadLine)
    fund(db_of)
    broker.publish_event(completed("T-P-10"))
    poll(lambda: len(attempts) >= 2, what="the first retry of the failing message")
    for n in range(11, 14):
        broker.publish_event(completed(f"T-P-{n}"))
    poll(lambda: db_of("funding").transactions.count_documents(
        {"_id": {"$in": ["capture:P-11/1", "capture:P-12/1", "capture:P-13/1"]}}) == 3,
        what="the messages behind the failing one")
    assert db_of("funding").transactions.find_one({"_id": "capture:P-10/1"}) is None
    assert poll(lambda: len(attempts) >= 3, what="the failing message, still retried")


def test_a_handler_that_always_fails_is_dead_lettered_not_acked_away(
        start_service, isolated_config, broker):
    calls = []

    class BrokenFunding(FundingService):
        @subscribe("task.completed.v1")
        def settle(self, event):
            calls.append(event.id)
            raise RuntimeError("ledger unavailable")

    start_service(BrokenFunding)
    broker.publish_event(completed("T-P-8"))
    parked = poll(lambda: dead_letters(isolated_config), timeout=60, what="the dead letter")
    assert len(calls) == MAX_ATTEMPTS
    assert parked[0][0].startswith(f"gave up after {MAX_ATTEMPTS} attempts")
    assert "ledger unavailable" in parked[0][0]


def test_a_duplicated_completion_moves_money_once(start_service, isolated_config, db_of, broker):
    start_service(FundingService)
    fund(db_of)
    event = completed("T-P-9", cost_fen=12_345)
    for _ in range(3):
        broker.publish_event(event)
    replay = dict(event, id="another-delivery-id")
    broker.publish_event(replay)
    poll(lambda: db_of("funding").transactions.find_one({"_id": "capture:P-9/1"}),
         what="the settlement")
    poll(lambda: queue_depth(isolated_config, queue_name(
        "volunteer", "task.completed.v1", "funding", "settle")) == 0, what="the queue to drain")
    settlements = list(db_of("funding").transactions.find({"task_id": "T-P-9", "kind": "capture"}))
    assert len(settlements) == 1
    assert {p["account"]: p["amount_fen"] for p in settlements[0]["postings"]}[
        "centre-c-hexi"] == 12_345
