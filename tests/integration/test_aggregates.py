"""An aggregate's state, its outbox and the events it has handled change together, once;
a change starts from the copy this process saved last, trusted only by a save conditional
on its version."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from pymongo import MongoClient

from shared.domain import Change
from shared.errors import Forbidden
from shared.storage import AggregateCollection, Saved, checked_first
from tests.conftest import Commands


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


@pytest.fixture
def watched(infrastructure, petitions):
    """The petitions through a client whose commands are listed."""
    commands = Commands()
    client = MongoClient(infrastructure["MONGO_URI"], tz_aware=True, event_listeners=[commands])
    collection = client[petitions.collection.database.name].petitions
    yield AggregateCollection(collection), petitions.collection, commands.names
    client.close()


def test_a_change_after_a_save_in_this_process_reads_nothing_first(watched):
    aggregates, _, commands = watched
    aggregates.create({"_id": "P-2", "notes": []})
    aggregates.change("P-2", note("dispatched"))
    aggregates.change("P-2", note("acknowledged"))

    assert commands == ["insert", "findAndModify", "findAndModify"]
    assert aggregates.get("P-2")["notes"] == ["dispatched", "acknowledged"]


def test_a_copy_outdated_by_another_writer_is_read_again_and_nothing_is_lost(watched):
    aggregates, raw, _ = watched
    aggregates.change("P-1", note("dispatched"))
    raw.update_one({"_id": "P-1"}, {"$push": {"notes": "elsewhere"}, "$inc": {"version": 1}})
    seen = []

    def record(doc):
        seen.append(list(doc["notes"]))
        return Change(push={"notes": ["acknowledged"]})

    aggregates.change("P-1", record)
    assert seen == [["dispatched"], ["dispatched", "elsewhere"]]
    assert aggregates.get("P-1")["notes"] == ["dispatched", "elsewhere", "acknowledged"]


def test_a_decision_to_change_nothing_is_made_on_the_document_as_it_is(watched):
    aggregates, raw, _ = watched
    aggregates.change("P-1", note("dispatched"))
    raw.update_one({"_id": "P-1"}, {"$set": {"closed": True}, "$inc": {"version": 1}})

    answer = aggregates.change("P-1", lambda doc: None)
    assert answer["closed"] is True


def test_a_command_refused_on_an_outdated_copy_is_decided_again_on_the_document(watched):
    aggregates, raw, _ = watched
    aggregates.change("P-1", note("opened"))
    raw.update_one({"_id": "P-1"}, {"$set": {"claimed": True}, "$inc": {"version": 1}})

    def complete(doc):
        if not doc.get("claimed"):
            raise ValueError("Cannot complete: the task is open")
        return Change(set={"completed": True})

    assert aggregates.change("P-1", complete)["completed"] is True


def test_a_command_refused_on_the_document_as_it_is_stays_refused(watched):
    aggregates, _, _ = watched
    aggregates.change("P-1", note("opened"))

    def refuse(doc):
        raise ValueError("Cannot complete: the task is open")

    with pytest.raises(ValueError):
        aggregates.change("P-1", refuse)


def test_an_event_handled_elsewhere_is_not_applied_again_from_an_outdated_copy(watched):
    aggregates, raw, _ = watched
    aggregates.change("P-1", note("dispatched"))
    raw.update_one({"_id": "P-1"}, {"$push": {"handled": "grid/e2"}, "$inc": {"version": 1}})

    aggregates.change("P-1", note("twice"), handled="grid/e2")
    assert "twice" not in aggregates.get("P-1")["notes"]


def test_what_a_caller_does_to_a_saved_document_does_not_alter_the_copy(petitions):
    saved = petitions.change("P-1", note("dispatched"))
    saved["notes"].append("scribbled")

    assert petitions.change("P-1", lambda doc: Change(set={"seen": list(doc["notes"])}))[
        "seen"] == ["dispatched"]


def test_only_the_newest_saved_copies_are_kept(petitions):
    saved = Saved(limit=2)
    for n in range(3):
        saved.put(petitions.collection, {"_id": f"P-{n}", "version": 1})

    assert saved.get(petitions.collection, "P-0") is None
    assert [saved.get(petitions.collection, f"P-{n}")["_id"] for n in (1, 2)] == ["P-1", "P-2"]


def in_grid(grid_id):
    def check(doc):
        if doc["grid_id"] != grid_id:
            raise Forbidden("not your grid")
    return check


def test_a_check_of_what_never_changes_is_made_on_the_document_the_change_starts_from(watched):
    aggregates, _, commands = watched
    aggregates.create({"_id": "P-3", "grid_id": "g01", "notes": []})
    aggregates.change("P-3", checked_first(in_grid("g01"), note("acknowledged")))

    assert commands == ["insert", "findAndModify"]
    assert aggregates.get("P-3")["notes"] == ["acknowledged"]


def test_a_change_whose_check_fails_is_not_made(watched):
    aggregates, _, _ = watched
    aggregates.create({"_id": "P-4", "grid_id": "g02", "notes": []})
    with pytest.raises(Forbidden):
        aggregates.change("P-4", checked_first(in_grid("g01"), note("acknowledged")))

    assert aggregates.get("P-4")["notes"] == []
    assert aggregates.get("P-4")["version"] == 1
