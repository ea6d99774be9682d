"""An aggregate's state, its outbox and the events it has handled change together, once."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from shared.domain import Change
from shared.storage import AggregateCollection


@pytest.fixture
def petitions(mongo_client, database_prefix):
    collection = mongo_client[database_prefix + "aggregates"].petitions
    collection.delete_many({})
    aggregates = AggregateCollection(collection)
    aggregates.ensure_indexes()
    aggregates.create({"_id": "P-1", "notes": []}, events=[{"id": "e0"}])
    return aggregates


def note(text):
    return lambda doc: Change(push={"notes": [text]}, events=[{"id": f"event-{text}"}])


def test_an_event_delivered_many_times_at_once_is_applied_once(petitions):
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: petitions.change("P-1", note("dispatched"), handled="grid/e1"),
                      range(8)))
    doc = petitions.get("P-1")
    assert doc["notes"] == ["dispatched"]
    assert doc["handled"] == ["grid/e1"]
    assert [e["id"] for e in doc["outbox"]] == ["e0", "event-dispatched"]
    assert doc["version"] == 2


def test_concurrent_changes_to_one_aggregate_are_all_kept(petitions):
    texts = [f"n{i}" for i in range(20)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda t: petitions.change("P-1", note(t), handled=f"x/{t}"), texts))
    doc = petitions.get("P-1")
    assert sorted(doc["notes"]) == sorted(texts)
    assert len(doc["outbox"]) == 21 and doc["outbox_pending"] is True
    assert doc["version"] == 21


def test_creating_an_aggregate_twice_keeps_the_first(petitions):
    assert petitions.create({"_id": "P-1", "notes": ["again"]}, events=[{"id": "e9"}]) is False
    assert petitions.get("P-1")["notes"] == []


def test_a_change_to_a_missing_aggregate_reports_none(petitions):
    assert petitions.change("P-404", note("x"), handled="a/b") is None
