"""The ledger: integer fen, two postings that sum to zero, one settlement per task."""

from datetime import UTC, datetime

import pytest

from services.funding import domain
from shared.errors import Conflict, InvalidFields
from shared.events import Event

FUNDING = {"department_id": "housing", "budget_line": "public_infrastructure",
           "fiscal_year": 2026, "estimate_fen": 30_000, "centre_id": "centre-c-hexi"}


def completion(cost_fen, funding=FUNDING):
    return Event(id="e1", source="volunteer", type="task.completed.v1", subject="T-P-1",
                 time=datetime(2026, 11, 23, tzinfo=UTC), correlationid="c", causationid=None,
                 data={"task_id": "T-P-1", "petition_id": "P-1", "team_id": "t", "volunteer_id": "v",
                       "hours": 1.0, "cost_fen": cost_fen, "funding": funding})


def test_a_settlement_moves_the_actual_cost_from_the_department_to_the_centre():
    transaction, settled = domain.settle(completion(28_000).data, completion(28_000))
    assert transaction["_id"] == "settlement:T-P-1"
    assert transaction["postings"] == [
        {"account": "dept:housing:public_infrastructure:2026", "amount_fen": -28_000},
        {"account": "centre-c-hexi", "amount_fen": 28_000}]
    assert sum(p["amount_fen"] for p in transaction["postings"]) == 0
    assert settled["data"]["amount_fen"] == 28_000 and settled["causationid"] == "e1"


def test_work_nobody_pays_for_settles_nothing():
    assert domain.settle(completion(0).data, completion(0)) is None
    assert domain.settle(completion(100, funding=None).data, completion(100, None)) is None


@pytest.mark.parametrize("amount", [0, -5, 1.5])
def test_money_moves_only_in_whole_positive_fen(amount):
    with pytest.raises(InvalidFields):
        domain.transfer("a", "b", amount)


def test_a_repeated_allocation_must_match_the_recorded_one():
    now = datetime(2026, 1, 2, tzinfo=UTC)
    request = {"allocation_id": "a1", "department_id": "housing", "budget_line": "sanitation",
               "fiscal_year": 2026, "amount_fen": 100, "approved_by": "bureau"}
    recorded = domain.allocate(request, now)
    domain.same_allocation(recorded, domain.allocate(request, now))
    with pytest.raises(Conflict):
        domain.same_allocation(recorded, domain.allocate(dict(request, amount_fen=200), now))
