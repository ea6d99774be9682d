"""The evaluation on the real broker and database: the grid service folds the events it
receives into the three rates of the known history (tests/unit/test_evaluation.py), and
folding them again from its log, from scratch, gives the same figures."""

import random
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial

from services.grid import evaluation
from services.grid.evaluation_store import EvaluationStore
from shared import folds
from shared.broker import consumer_queue
from shared.catalogue import CATALOGUE
from shared.events import new_event
from tests.conftest import poll
from tests.integration.test_grid_service import grid  # noqa: F401 (a fixture)
from tests.unit.test_evaluation import PLACES, known_history

# What each event type carries beyond the history's own fields.
REQUIRED = {
    "petition.dispatched.v1": {"community_id": "c-hexi", "category": "drains", "rule_id": "r1"},
    "petition.acknowledged.v1": {"actor": "handler"},
    "petition.resolved.v1": {"actor": "handler"},
    "petition.verified.v1": {"actor": "resident"},
    "petition.closed.v1": {"actor": "grid-leader"},
    "petition.reopened.v1": {"actor": "resident", "grid_id": "g01", "community_id": "c-hexi",
                             "category": "drains", "location": {"lat": 30.2745, "lng": 120.1555},
                             "previous_handler": {"kind": "volunteer_team", "name": "A"}},
    "spot_check.overturned.v1": {"actor": "livelihood-supervisor"},
}
FUNDING = {"budget_line": "public_infrastructure", "centre_id": "centre-hexi",
           "estimate_fen": 100, "fiscal_year": 2026}


def publish_history(broker, history):
    """Publish the history with the dispatcher left out: its rounds after a reopening
    are the history's own dispatches, and the dispatcher would add one more for each
    reopening, which the hand counts do not have."""
    queue = consumer_queue("petition", "petition.reopened.v1", "grid", "redispatch")
    with broker.connection.channel() as channel:
        queue(channel).unbind_from(queue.exchange, routing_key=queue.routing_key)
    for e in history.events:
        data = {**REQUIRED.get(e["type"], {}), **e["data"]}
        if "funding" in data:
            data["funding"] = {**FUNDING, **data["funding"]}
        for clock in ("acknowledge_by", "due_by"):
            if clock in data:
                data[clock] = datetime.fromisoformat(data[clock])
        event = new_event(CATALOGUE, e["type"], CATALOGUE.producer_of(e["type"]),
                          data["petition_id"], data, "history")
        broker.publish_event({**event, "id": e["id"], "time": e["time"]})


def test_the_figures_are_folded_from_events_and_rebuilt_from_scratch_identically(
        grid, broker, db_of):  # noqa: F811
    api = grid()
    history = known_history()
    publish_history(broker, history)
    logged = db_of("grid").evaluation_events
    poll(lambda: logged.count_documents({}) == len(history.events), what="every event logged")

    def figures(kind, id):
        answer = api.get("/evaluation/figures", params={"kind": kind, "id": id})
        assert answer.status_code == 200, answer.text
        return answer.json()

    # P3 was in g02, so grid g01 has P1, P2 and P4 (see the unit test's hand counts).
    poll(lambda: sum(f["events"] for f in db_of("grid").petition_facts.find()) ==
         len(history.events), what="every event folded")
    assert figures("handler", "team-a")["dispatched"] == 4
    g01 = figures("grid", "g01")
    assert (g01["dispatched"], g01["acknowledged_on_time"], g01["resolved"], g01["rated"],
            g01["satisfied"]) == (3, 2, 2, 3, 3)
    team_a = figures("handler", "team-a")
    assert (team_a["resolved"], team_a["satisfaction_rate"]) == (1, 0.6667)

    before = {s: figures(*s) for s in (("grid", "g01"), ("community", "c-hexi"),
                                         ("handler", "team-a"), ("handler", "team-b"),
                                         ("department", "housing"), ("department", "roads"))}
    folded = facts_in(db_of("grid"))
    api.container.stop()
    db_of("grid").drop_collection("petition_facts")
    assert db_of("grid").petition_facts.count_documents({}) == 0
    # A delivery whose ack the stop cut off comes again to the new service, and its fold
    # is the same: at least once, identically.
    api = grid()
    assert api.post("/evaluation/rebuild").json() == {"petitions": 4}
    assert facts_in(db_of("grid")) == folded
    assert {s: figures(*s) for s in before} == before


def test_figures_for_a_place_not_in_the_registry_are_refused_with_what_to_do(grid):  # noqa: F811
    answer = grid().get("/evaluation/figures", params={"kind": "community", "id": "c-nowhere"})
    assert answer.status_code == 404 and "GET /registry" in answer.json()["error"]["message"]


def facts_in(db):
    """Each petition's facts, without the bookkeeping of their saves."""
    return sorted((folds.own(evaluation.start, f) for f in db.petition_facts.find()),
                  key=lambda f: f["_id"])


def test_events_of_one_petition_folded_at_once_by_many_workers_are_all_kept(db_of):
    store = EvaluationStore(db_of("grid"))
    history = known_history()
    for petition_id in ("P1", "P2", "P4"):
        events = history.of(petition_id)
        random.shuffle(events)
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(partial(deliver, store), events))
        stored = store.db.petition_facts.find_one({"_id": petition_id})
        assert folds.own(evaluation.start, stored) == evaluation.fold(
            petition_id, events, PLACES.get)


def deliver(store, event):
    """What the grid service does with an event it folds."""
    petition_id = event["data"]["petition_id"]
    entry = store.record(Delivered(event), event["data"])
    store.keep_facts(petition_id, partial(
        evaluation.fold_in, petition_id, event=entry,
        log=partial(store.events_of, petition_id), places_of=PLACES.get), handled=event["id"])


class Delivered:
    """A history event as the grid service receives it."""

    def __init__(self, event):
        self.key = self.id = event["id"]
        self.type = event["type"]
        self.time = datetime.fromisoformat(event["time"])
