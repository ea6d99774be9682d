"""A volunteer's count of open claims is recounted from the tasks, so a crash between a
reservation and its claim never holds a slot for good."""

from datetime import timedelta

import pytest

from services.volunteer.store import VolunteerStore
from shared.events import now


@pytest.fixture
def store(db_of):
    store = VolunteerStore(db_of("volunteer"))
    store.ensure_indexes()
    for volunteer_id in ("v1", "v2", "v3"):
        store.save_volunteer(volunteer_id, {"name": volunteer_id})
    return store


def task(id, status, *holders):
    return {"_id": id, "status": status,
            "claims": [{"volunteer_id": v, "state": "active"} for v in holders]}


def test_a_slot_reserved_without_a_claim_is_given_back_by_the_recount(store):
    store.reserve_claim("v1", 3, now() - timedelta(minutes=5))
    store.reconcile_claims(now())
    assert store.volunteer("v1")["open_claims"] == 0
    assert store.volunteer("v1")["claiming"] is False


def test_claims_held_on_live_tasks_are_kept_by_the_recount(store):
    at = now() - timedelta(minutes=5)
    for _ in range(3):
        store.reserve_claim("v2", 3, at)
    store.db.tasks.insert_many([task("T1", "claimed", "v2"), task("T2", "submitted", "v2"),
                                task("T3", "completed", "v2")])
    store.reconcile_claims(now())
    assert store.volunteer("v2")["open_claims"] == 2
    assert store.volunteer("v2")["claiming"] is True


def test_a_reservation_made_in_the_last_minute_is_left_alone(store):
    store.reserve_claim("v3", 3, now())
    store.reconcile_claims(now())
    assert store.volunteer("v3")["open_claims"] == 1


def test_only_tasks_with_an_active_claim_are_swept_for_stalled_claims(store):
    store.db.tasks.insert_many([task("T1", "open", "v1"), task("T2", "claimed", "v2"),
                                task("T3", "open"), task("T4", "submitted", "v3")])
    assert sorted(store.claimed_tasks()) == ["T1", "T2"]


def test_a_team_may_name_only_volunteers_registered_here(store):
    assert store.known_volunteers(["v1", "v9", "v3"]) == {"v1", "v3"}
