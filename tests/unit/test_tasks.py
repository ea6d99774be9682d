"""Tasks: only team members claim, one claimer wins, only the claimer completes."""

import pytest

from services.volunteer import domain
from shared.errors import Conflict, Forbidden, InvalidFields

TEAM = {"_id": "team-a", "members": [{"id": "v1"}, {"id": "v2"}]}


def task(**fields):
    return {"_id": "T-P-1-1", "petition_id": "P-1", "round": 1, "team_id": "team-a", "status": "open",
            "claimed_by": None, "funding": {"department_id": "d"}, **fields}


def test_a_member_claims_an_open_task():
    change = domain.claim("v1", TEAM, "c", task())
    assert change.set["status"] == "claimed" and change.set["claimed_by"] == "v1"
    assert change.events[0]["type"] == "task.claimed.v1"


def test_someone_outside_the_team_cannot_claim():
    with pytest.raises(Forbidden):
        domain.claim("v9", TEAM, "c", task())


def test_a_claimed_task_cannot_be_claimed_again():
    with pytest.raises(Conflict, match="already claimed by v1"):
        domain.claim("v2", TEAM, "c", task(status="claimed", claimed_by="v1"))


def test_only_the_claimer_completes():
    report = {"volunteer_id": "v2", "hours": 1.0, "cost_fen": 10, "notes": ""}
    with pytest.raises(Forbidden):
        domain.complete(report, "c", task(status="claimed", claimed_by="v1"))
    with pytest.raises(Conflict):
        domain.complete(report, "c", task())


def test_unfunded_work_carries_no_cost():
    report = {"volunteer_id": "v1", "hours": 1.0, "cost_fen": 10, "notes": ""}
    with pytest.raises(InvalidFields):
        domain.complete(report, "c", task(status="claimed", claimed_by="v1", funding=None))
