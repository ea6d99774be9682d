"""Documents written by the foundation release are brought to today's shape when a
service starts: nothing a city already stored is stranded by an upgrade."""

from services.grid.store import GridStore
from services.petition.store import PetitionStore
from services.volunteer.store import VolunteerStore


def test_petitions_that_moved_through_stages_now_have_lifecycle_states(db_of):
    petitions = db_of("petition").petitions
    petitions.insert_many([
        {"_id": "P-old-1", "stage": "completed", "raised_at": "2026-11-01T09:00:00+00:00"},
        {"_id": "P-old-2", "stage": "closed", "raised_at": "2026-11-01T09:00:00+00:00"}])
    store = PetitionStore(db_of("petition"))
    store.upgrade()
    store.upgrade()
    resolved, closed = petitions.find_one({"_id": "P-old-1"}), petitions.find_one({"_id": "P-old-2"})
    assert "stage" not in resolved
    assert (resolved["state"], resolved["round"], resolved["ratings"]) == ("resolved", 1, [])
    assert closed["state"] == "closed" and closed["outcome"] == "closed_before_follow_up"


def test_dispatches_and_tasks_from_before_rounds_belong_to_round_one(db_of):
    db_of("grid").dispatches.insert_one({"_id": "P-old", "petition_id": "P-old",
                                         "handler": {"team_id": "t"}})
    db_of("volunteer").tasks.insert_one({"_id": "T-P-old", "petition_id": "P-old"})
    for store in (GridStore(db_of("grid")), VolunteerStore(db_of("volunteer"))):
        store.upgrade()
        store.upgrade()
    assert [d["_id"] for d in db_of("grid").dispatches.find()] == ["P-old/1"]
    assert GridStore(db_of("grid")).dispatch("P-old", 1)["round"] == 1
    assert db_of("volunteer").tasks.find_one({"_id": "T-P-old"})["round"] == 1
