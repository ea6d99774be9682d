"""The relay takes from an outbox only what the broker confirmed, and keeps it; what it
published leaves the outbox a moment later, or with the aggregate's next change."""

import pytest
from eventlet.queue import LightQueue

from shared.domain import Change
from shared.outbox import PUBLISHED, OutboxRelay, Remembered
from shared.storage import RELAYED, AggregateCollection


def event(id):
    return {"id": id, "type": "grid.registered.v1", "source": "grid", "subject": "g01",
            "time": "2026-12-04T08:00:00+00:00", "data": {}}


@pytest.fixture
def grids(db_of):
    collection = db_of("relay").grids
    aggregates = AggregateCollection(collection)
    aggregates.ensure_indexes()
    aggregates.create({"_id": "g01"}, events=[event("e1")])
    yield aggregates
    RELAYED.take(collection)


@pytest.fixture
def relay(db_of, broker):
    relay = OutboxRelay("grids")
    relay.db, relay.broker, relay.wakeups = db_of("relay"), broker, LightQueue(maxsize=1)
    relay.sent = []
    publish = broker.publish_event
    relay.broker.publish_event = lambda event, **kw: (relay.sent.append(event["id"]),
                                                      publish(event, **kw))
    return relay


def pending(grids):
    return grids.collection.find_one({"_id": "g01"}, {"outbox": 1})


def outbox(grids):
    return [e["id"] for e in grids.get("g01")["outbox"]]


def test_a_relayed_outbox_is_emptied_a_moment_later_its_flag_lowered_and_its_events_kept(
        grids, relay):
    relay.relay(grids.collection, pending(grids))

    assert relay.sent == ["e1"] and outbox(grids) == ["e1"]
    assert [e["_id"] for e in relay.db[PUBLISHED].find()] == ["e1"]
    relay.empty_due(at=None)
    doc = grids.get("g01")
    assert doc["outbox"] == [] and doc["outbox_pending"] is False


def test_a_change_right_after_the_relay_drops_the_published_events_in_its_own_write(
        grids, relay):
    relay.relay_written()

    saved = grids.change("g01", lambda doc: Change(events=[event("e2")]))

    assert [e["id"] for e in saved["outbox"]] == ["e2"] and saved["version"] == 2
    assert RELAYED.take(grids.collection, at=None) == {}
    relay.relay_written()
    relay.empty_due(at=None)
    assert relay.sent == ["e1", "e2"] and outbox(grids) == []
    assert grids.get("g01")["outbox_pending"] is False


def test_a_change_with_no_events_right_after_the_relay_lowers_the_flag_itself(grids, relay):
    relay.relay_written()

    saved = grids.change("g01", lambda doc: Change(set={"name": "Hexi grid 1"}))

    assert saved["outbox"] == [] and saved["outbox_pending"] is False


def test_an_event_added_while_the_outbox_was_being_relayed_stays_pending(grids, relay):
    read = pending(grids)
    grids.change("g01", lambda doc: Change(events=[event("e2")]))

    relay.relay(grids.collection, read)
    relay.empty_due(at=None)

    assert outbox(grids) == ["e2"] and grids.get("g01")["outbox_pending"] is True
    relay.relay(grids.collection, pending(grids))
    relay.empty_due(at=None)
    assert grids.get("g01")["outbox_pending"] is False


def test_an_outbox_this_process_wrote_is_relayed_as_written(grids, relay):
    grids.change("g01", lambda doc: Change(events=[event("e2")]))

    relay.relay_written()
    relay.empty_due(at=None)

    assert outbox(grids) == []
    assert sorted(e["_id"] for e in relay.db[PUBLISHED].find()) == ["e1", "e2"]


def test_what_another_process_added_after_this_one_wrote_stays_for_the_sweep(grids, relay):
    grids.collection.update_one({"_id": "g01"}, {"$push": {"outbox": event("e3")}})

    relay.relay_written()
    relay.empty_due(at=None)

    assert outbox(grids) == ["e3"] and grids.get("g01")["outbox_pending"] is True
    while relay.sweep():
        pass
    assert grids.get("g01")["outbox_pending"] is False


def test_the_sweep_empties_at_once_what_waits_to_leave_without_publishing_it_again(
        grids, relay):
    relay.relay_written()

    while relay.sweep():
        pass

    assert relay.sent == ["e1"] and outbox(grids) == []
    assert RELAYED.take(grids.collection, at=None) == {}


def test_stopping_empties_what_waits_to_leave(grids, relay):
    relay.relay_written()

    relay.stop()

    assert outbox(grids) == [] and grids.get("g01")["outbox_pending"] is False


def test_an_event_this_process_published_is_not_published_again_by_a_later_outbox(
        grids, relay):
    read = pending(grids)
    grids.change("g01", lambda doc: Change(events=[event("e2")]))
    relay.relay(grids.collection, read)

    relay.relay_written()
    relay.empty_due(at=None)

    assert relay.sent == ["e1", "e2"]
    doc = grids.get("g01")
    assert doc["outbox"] == [] and doc["outbox_pending"] is False


def test_the_relay_remembers_only_the_latest_events_it_published():
    remembered = Remembered(size=2)
    for id in ("e1", "e2", "e3"):
        remembered.add(id)

    assert "e1" not in remembered and "e2" in remembered and "e3" in remembered


def test_emptying_an_outbox_raises_the_version_so_no_saved_copy_outlives_it(grids, relay):
    before = grids.get("g01")["version"]
    relay.relay(grids.collection, pending(grids), at_once=True)

    assert grids.get("g01")["version"] == before + 1
    saved = grids.change("g01", lambda doc: Change(set={"outbox_seen": len(doc["outbox"])}))
    assert saved["outbox_seen"] == 0 and saved["outbox"] == []
