"""Tasks: only eligible volunteers claim, places are never over-filled, stalled claims
lapse, and work counts only once verified. Pure domain; the clock is the test's."""

from datetime import UTC, datetime, timedelta

import pytest

from services.volunteer import domain, people
from shared.errors import Conflict, Forbidden, IllegalTransition, InvalidFields

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
POLICY = domain.TaskPolicy(max_open_tasks=3, progress_hours=24)
FUNDING = {"department_id": "housing", "budget_line": "public_infrastructure",
           "fiscal_year": 2026, "estimate_fen": 30_000, "centre_id": "centre-c"}
TEAM = {"_id": "team-a", "members": ["v1", "v2", "v3"], "leader_id": "v1", "roles": {}}


def volunteer(id="v1", **fields):
    return {"_id": id, "name": id, "skills": ["plumbing", "electrics"], "grids": ["g01"],
            "qualifications": [{"kind": "electrician", "valid_until": "2027-06-30"}],
            "party_member": False, **fields}


def task(**fields):
    return {"_id": "T-P-1-1", "petition_id": "P-1", "round": 1, "team_id": "team-a",
            "role": None, "skill": None, "qualification": None, "grid_id": "g01",
            "community_id": "c", "status": "open", "places": 1, "claims": [], "notices": [],
            "verifications": [], "funding": FUNDING, "team_leader_id": "v1",
            "grid_leader_ids": ["g01-grid_leader"], **fields}


def apply(doc, change):
    updated = {**doc, **change.set}
    for name, items in change.push.items():
        updated[name] = doc.get(name, []) + items
    return updated


def claimed(t, who="v1", at=NOW):
    return apply(t, domain.claim(volunteer(who), TEAM, at, POLICY, "c", t))


@pytest.mark.parametrize("who, changes, why", [
    (volunteer("v9"), {}, "not a member"),
    (volunteer(skills=["cleaning"]), {"skill": "plumbing"}, "needs the skill plumbing"),
    (volunteer(qualifications=[{"kind": "electrician", "valid_until": "2026-11-22"}]),
     {"skill": "electrics", "qualification": "electrician"}, "valid electrician"),
    (volunteer(grids=["g02"]), {}, "does not serve grid g01"),
    (volunteer(), {"role": "grid_cleaner"}, "grid cleaner"),
])
def test_only_eligible_volunteers_may_claim(who, changes, why):
    with pytest.raises(Forbidden, match=why):
        domain.claim(who, TEAM, NOW, POLICY, "c", task(**changes))


def test_a_volunteer_serving_everywhere_with_a_valid_qualification_may_claim():
    t = task(skill="electrics", qualification="electrician", grid_id="g30")
    t = apply(t, domain.claim(volunteer(grids=["*"]), TEAM, NOW, POLICY, "c", t))
    assert t["status"] == "claimed" and t["claims"][0]["volunteer_id"] == "v1"
    assert domain.why_not_eligible(volunteer(grids=["*"]), TEAM, task(grid_id="g30"),
                                   NOW.date()) is None


def test_the_last_place_goes_to_one_claimant_and_the_next_is_told_it_is_full():
    two = claimed(task(places=2), "v1")
    assert two["status"] == "open"  # one place left
    full = claimed(two, "v2")
    assert full["status"] == "claimed"
    with pytest.raises(IllegalTransition):
        domain.claim(volunteer("v3"), TEAM, NOW, POLICY, "c", full)
    with pytest.raises(Conflict, match="already holds"):
        domain.claim(volunteer("v1"), TEAM, NOW, POLICY, "c", two)


def test_a_released_place_is_open_again():
    released = apply(claimed(task()), domain.release("v1", "fell ill", NOW, "c", claimed(task())))
    assert released["status"] == "open" and released["claims"][0]["state"] == "released"
    assert claimed(released, "v2")["status"] == "claimed"
    with pytest.raises(Conflict, match="no place"):
        domain.release("v2", "x", NOW, "c", released)


def test_a_claim_with_no_progress_in_time_lapses_and_the_team_leader_is_told():
    t = claimed(task())
    assert domain.lapse_stalled(NOW + timedelta(hours=23), "c", t) is None
    change = domain.lapse_stalled(NOW + timedelta(hours=24), "c", t)
    lapsed = apply(t, change)
    assert lapsed["status"] == "open" and lapsed["claims"][0]["state"] == "lapsed"
    assert lapsed["notices"][0]["to"] == "v1" and "lapsed" in lapsed["notices"][0]["text"]
    assert change.events[0]["type"] == "task.released.v1"
    assert change.events[0]["data"]["team_leader_id"] == "v1"


def test_progress_extends_the_time_limit_of_a_claim():
    t = claimed(task())
    later = NOW + timedelta(hours=20)
    progressed = apply(t, domain.report_progress("v1", "ordered the part", later, POLICY, "c", t))
    assert domain.lapse_stalled(NOW + timedelta(hours=30), "c", progressed) is None
    assert progressed["claims"][0]["notes"][0]["text"] == "ordered the part"


def test_work_counts_only_once_the_grid_leader_verifies_it():
    report = {"volunteer_id": "v1", "hours": 2.0, "cost_fen": 1_000, "notes": "done",
              "evidence": [{"url": "https://x.cn/after.jpg", "kind": "photo"}]}
    submitted = apply(claimed(task()), domain.submit(report, NOW, "c", claimed(task())))
    assert submitted["status"] == "submitted"
    with pytest.raises(Forbidden, match="not the grid leader"):
        domain.verify({"verifier_id": "v2", "approved": True}, NOW, "c", submitted)
    change = domain.verify({"verifier_id": "g01-grid_leader", "approved": True}, NOW, "c",
                           submitted)
    assert change.set["status"] == "completed" and change.set["claimant_ids"] == ["v1"]
    assert change.events[0]["type"] == "task.completed.v1"
    assert change.events[0]["data"]["verified_by"] == "g01-grid_leader"


def test_a_declined_verification_says_why_and_sends_the_work_back():
    report = {"volunteer_id": "v1", "hours": 2.0, "cost_fen": 0, "notes": ""}
    submitted = apply(claimed(task()), domain.submit(report, NOW, "c", claimed(task())))
    with pytest.raises(InvalidFields):
        domain.verify({"verifier_id": "g01-grid_leader", "approved": False}, NOW, "c", submitted)
    change = domain.verify({"verifier_id": "g01-grid_leader", "approved": False,
                            "reason": "The cover is still cracked"}, NOW, "c", submitted)
    assert change.set["status"] == "claimed"
    assert change.events[0]["data"]["reason"] == "The cover is still cracked"


def test_the_residents_confirmation_verifies_the_work():
    report = {"volunteer_id": "v1", "hours": 1.0, "cost_fen": 0, "notes": ""}
    submitted = apply(claimed(task()), domain.submit(report, NOW, "c", claimed(task())))
    change = domain.verify({"verifier_id": "resident", "approved": True}, NOW, "c", submitted)
    assert change.events[0]["data"]["verified_by"] == "resident"


def test_only_a_claimant_reports_the_work_and_unfunded_work_carries_no_cost():
    report = {"volunteer_id": "v2", "hours": 1.0, "cost_fen": 0, "notes": ""}
    with pytest.raises(Forbidden):
        domain.submit(report, NOW, "c", claimed(task()))
    with pytest.raises(InvalidFields):
        domain.submit({**report, "volunteer_id": "v1", "cost_fen": 10}, NOW, "c",
                      claimed(task(funding=None)))


def test_a_petition_sent_back_cancels_its_live_task_once():
    change = domain.cancel("the petition was returned", NOW, "c", claimed(task()))
    cancelled = apply(claimed(task()), change)
    assert cancelled["status"] == "cancelled" and cancelled["claims"][0]["state"] == "cancelled"
    assert domain.cancel("again", NOW, "c", cancelled) is None


def test_a_butler_team_follows_the_grid_registry_role_by_role():
    grid = {"grid_id": "g01", "name": "Hexi 1", "community_id": "c-hexi", "butler_team": {
        "grid_leader": [{"id": "g01-leader", "name": "Li"}],
        "grid_cleaner": [{"id": "g01-cleaner", "name": "Wu"}]}}
    team, staff = people.butler_team(grid)
    assert team["leader_id"] == "g01-leader" and team["roles"]["grid_cleaner"] == ["g01-cleaner"]
    assert sorted(team["members"]) == ["g01-cleaner", "g01-leader"]
    assert all(p["staff"] and p["grids"] == ["g01"] for p in staff)


def test_only_party_members_report_to_the_community_and_they_show_their_identity():
    with pytest.raises(Forbidden):
        people.report_to_community("r1", volunteer(), {"community_id": "c", "shows_identity": True},
                                   NOW, "c")
    record, [event] = people.report_to_community(
        "r1", volunteer(party_member=True), {"community_id": "c", "shows_identity": True}, NOW, "c")
    assert record["community_id"] == "c" and event["type"] == "volunteer.reported.v1"
