"""The operator's commands on the real broker and database: dead letters listed, shown and
republished once the cause is fixed; a service's events replayed from what it kept."""

from kombu import Connection

from services.funding.service import FundingService
from services.grid.service import GridService
from shared.broker import queue_name
from shared.consumers import MAX_ATTEMPTS, subscribe
from shared.events import now
from tests.conftest import poll
from tests.integration.test_messaging import completed, fund, queue_depth
from tools import demo_city, events


def test_a_dead_letter_is_listed_with_its_reason_and_republished_after_the_fix(
        start_service, isolated_config, db_of, broker):
    class Fixable(FundingService):
        broken = True

        @subscribe("task.completed.v1")
        def settle(self, event):
            if Fixable.broken:
                raise RuntimeError("ledger unavailable")
            FundingService.settle(self, event)

    start_service(Fixable)
    fund(db_of)
    broker.publish_event(completed("T-P-11"))
    found = poll(lambda: events.dead_letters(isolated_config["AMQP_URI"]), timeout=60,
                 what="the dead letter")
    assert [(n, queue) for n, _, queue, _ in found] == [
        (1, queue_name("volunteer", "task.completed.v1", "funding", "settle"))]
    assert found[0][1].startswith(f"gave up after {MAX_ATTEMPTS} attempts")
    assert events.dead_letters(isolated_config["AMQP_URI"]) == found  # listing keeps them

    Fixable.broken = False
    events.dead_letters(isolated_config["AMQP_URI"], republish={1})
    poll(lambda: db_of("funding").transactions.find_one({"_id": "capture:P-11/1"}),
         what="the settlement after the fix")
    assert events.dead_letters(isolated_config["AMQP_URI"]) == []


def test_a_services_events_are_replayed_from_what_it_kept(serve, isolated_config):
    since = now().isoformat()
    api = serve(GridService)
    files = {p.name: (p.name, p.read_bytes(), "text/csv") for p in demo_city.FILES.glob("*.csv")}
    assert api.put("/registry", files=files).status_code == 200
    queue = queue_name("grid", "grid.registered.v1", "petition", "track_grid")
    poll(lambda: queue_depth(isolated_config, queue) == 45, what="45 grids announced")
    with Connection(isolated_config["AMQP_URI"]) as connection:
        connection.default_channel.queue_purge(queue)  # the subscriber lost them

    uri, prefix = isolated_config["AMQP_URI"], isolated_config["DATABASE_PREFIX"]
    mongo = isolated_config["MONGO_URI"]
    assert events.replay(uri, mongo, prefix, "grid", since, type="petition.dispatched.v1") == 0
    assert events.replay(uri, mongo, prefix, "grid", since) == 45
    poll(lambda: queue_depth(isolated_config, queue) == 45, what="the replayed events")
