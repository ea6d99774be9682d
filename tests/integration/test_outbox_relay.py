"""The relay takes from an outbox only what the broker confirmed, and keeps it."""

import pytest

from shared.domain import Change
from shared.outbox import PUBLISHED, OutboxRelay, Remembered
from shared.storage import AggregateCollection


def event(id):
    return {"id": id, "type": "grid.registered.v1", "source": "grid", "subject": "g01",
            "time": "2026-12-04T08:00:00+00:00", "data": {}}


@pytest.fixture
def grids(db_of):
    collection = db_of("relay").grids
    aggregates = AggregateCollection(collection)
    aggregates.ensure_indexes()
    aggregates.create({"_id": "g01"}, events=[event("e1")])
    return aggregates


@pytest.fixture
def relay(db_of, broker):
    relay = OutboxRelay("grids")
    relay.db, relay.broker = db_of("relay"), broker
    return relay


def pending(grids):
    return grids.collection.find_one({"_id": "g01"}, {"outbox": 1})


def test_a_relayed_outbox_is_emptied_its_flag_lowered_and_its_events_kept(grids, relay):
    relay.relay(grids.collection, pending(grids))

    doc = grids.get("g01")
    assert doc["outbox"] == [] and doc["outbox_pending"] is False
    assert [e["_id"] for e in relay.db[PUBLISHED].find()] == ["e1"]


def test_an_event_added_while_the_outbox_was_being_relayed_stays_pending(grids, relay):
    read = pending(grids)
    grids.change("g01", lambda doc: Change(events=[event("e2")]))

    relay.relay(grids.collection, read)

    doc = grids.get("g01")
    assert [e["id"] for e in doc["outbox"]] == ["e2"] and doc["outbox_pending"] is True
    relay.relay(grids.collection, pending(grids))
    assert grids.get("g01")["outbox_pending"] is False


def test_an_outbox_this_process_wrote_is_relayed_as_written(grids, relay):
    grids.change("g01", lambda doc: Change(events=[event("e2")]))

    relay.relay_written()

    assert grids.get("g01")["outbox"] == []
    assert sorted(e["_id"] for e in relay.db[PUBLISHED].find()) == ["e1", "e2"]


def test_what_another_process_added_after_this_one_wrote_stays_for_the_sweep(grids, relay):
    grids.collection.update_one({"_id": "g01"}, {"$push": {"outbox": event("e3")}})

    relay.relay_written()

    assert [e["id"] for e in grids.get("g01")["outbox"]] == ["e3"]
    assert grids.get("g01")["outbox_pending"] is True
    while relay.sweep():
        pass
    assert grids.get("g01")["outbox_pending"] is False


def test_an_event_this_process_published_is_not_published_again_by_a_later_outbox(
        grids, relay):
    published = []
    publish = relay.broker.publish_event
    relay.broker.publish_event = lambda event, **kw: (published.append(event["id"]),
                                                     publish(event, **kw))
    read = pending(grids)
    grids.change("g01", lambda doc: Change(events=[event("e2")]))
    relay.relay(grids.collection, read)

    relay.relay_written()

    assert published == ["e1", "e2"]
    doc = grids.get("g01")
    assert doc["outbox"] == [] and doc["outbox_pending"] is False


def test_the_relay_remembers_only_the_latest_events_it_published():
    remembered = Remembered(size=2)
    for id in ("e1", "e2", "e3"):
        remembered.add(id)

    assert "e1" not in remembered and "e2" in remembered and "e3" in remembered
