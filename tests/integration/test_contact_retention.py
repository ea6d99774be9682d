"""A closed petition's reporter contact is forgotten once the retention period has passed,
read an hour of closures at a time, so the sweep never reads every petition."""

from datetime import UTC, datetime, timedelta

import pytest

from services.petition import domain
from services.petition.store import FORGOTTEN_THROUGH, PetitionStore, with_keys
from shared.domain import Change

NOW = datetime(2026, 12, 4, 10, 30, tzinfo=UTC)
REPORTER = {"anonymous": False, "sealed": "..."}


@pytest.fixture
def store(db_of):
    store = PetitionStore(db_of("petition"))
    store.ensure_indexes()
    return store


def closed(store, petition_id, at):
    store.db.petitions.insert_one(with_keys({
        "_id": petition_id, "state": "closed", "closed_at": at.isoformat(),
        "reporter": dict(REPORTER), "version": 1}))


def forget_due(store, cutoff):
    due = store.reporters_to_forget(cutoff)
    for petition_id, reporter in due:
        store.forget_reporter(petition_id, domain.forgotten_reporter(reporter, NOW))
    return sorted(petition_id for petition_id, _ in due)


def test_only_contacts_closed_before_the_cutoff_are_forgotten(store):
    cutoff = NOW - timedelta(days=180)
    closed(store, "P-long-ago", cutoff - timedelta(days=30))
    closed(store, "P-same-hour-before", cutoff - timedelta(minutes=10))
    closed(store, "P-same-hour-after", cutoff + timedelta(minutes=10))
    closed(store, "P-recent", NOW - timedelta(days=2))
    store.db.petitions.insert_one(with_keys({"_id": "P-open", "state": "in_progress",
                                             "reporter": dict(REPORTER)}))

    assert forget_due(store, cutoff) == ["P-long-ago", "P-same-hour-before"]
    assert forget_due(store, cutoff) == []
    assert forget_due(store, cutoff + timedelta(hours=1)) == ["P-same-hour-after"]
    assert store.db.petitions.find_one({"_id": "P-recent"})["reporter"] == REPORTER


def test_the_sweep_moves_past_hours_whose_contacts_are_all_forgotten(store):
    cutoff = NOW - timedelta(days=180)
    closed(store, "P-1", cutoff - timedelta(hours=5))
    forget_due(store, cutoff)
    forget_due(store, cutoff)
    through = store.db.sweeps.find_one({"_id": FORGOTTEN_THROUGH})["hour"]
    assert through == (cutoff - timedelta(hours=1)).isoformat()[:13]


def test_a_contact_from_an_hour_the_sweep_had_passed_is_found_after_an_upgrade(store):
    cutoff = NOW - timedelta(days=180)
    closed(store, "P-1", cutoff - timedelta(hours=3))
    forget_due(store, cutoff)
    forget_due(store, cutoff)
    store.db.petitions.insert_one({"_id": "P-older-release", "state": "closed",
                                   "closed_at": (cutoff - timedelta(days=3)).isoformat(),
                                   "reporter": dict(REPORTER)})
    assert forget_due(store, cutoff) == []
    store.upgrade()
    assert forget_due(store, cutoff) == ["P-older-release"]


def test_a_reopened_petition_holds_no_closure_hour_until_it_closes_again(store):
    closed(store, "P-1", NOW - timedelta(days=200))
    store.change("P-1", lambda doc: Change(set={"state": "in_progress", "closed_at": None}))
    assert store.db.petitions.find_one({"_id": "P-1"})["contact_closed_hour"] is None
    assert forget_due(store, NOW - timedelta(days=180)) == []
