"""A petition's stage only moves forward, whatever order the events arrive in."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from services.petition import domain
from shared.catalogue import CATALOGUE
from shared.errors import InvalidFields
from shared.events import Event

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
FUNDING = {"department_id": "housing", "budget_line": "public_infrastructure",
           "fiscal_year": 2026, "estimate_fen": 100, "centre_id": "centre-c"}
DATA = {
    "petition.dispatched.v1": {"handler": {"kind": "volunteer_team", "team_id": "t", "name": "T"},
                               "acknowledge_by": "a", "due_by": "b"},
    "task.opened.v1": {"task_id": "T-P", "team_id": "t"},
    "task.claimed.v1": {"volunteer_id": "v1"},
    "task.completed.v1": {"volunteer_id": "v1", "hours": 2.0, "cost_fen": 12_345,
                          "funding": FUNDING},
    "funds.settled.v1": {"amount_fen": 12_345, "department_id": "housing",
                         "budget_line": "public_infrastructure", "centre_id": "centre-c"},
}


def event(type, minutes, **overrides):
    data = dict(DATA[type], petition_id="P", **overrides)
    return Event(id=f"e-{type}", source=CATALOGUE.producer_of(type), type=type, subject="P",
                 time=T0 + timedelta(minutes=minutes), correlationid="c", causationid=None,
                 data=data)


def apply(petition, e):
    change = domain.follow(e, petition)
    return {**petition, **change.set, "timeline": petition["timeline"] + change.push["timeline"]}


def fresh():
    return {"stage": "raised", "timeline": [], "closed_at": None}


@pytest.mark.parametrize("order", list(itertools.permutations(range(5)))[::7])
def test_any_arrival_order_ends_closed_with_the_timeline_in_event_order(order):
    events = [event(t, minutes) for minutes, t in enumerate(DATA)]
    petition = fresh()
    for i in order:
        petition = apply(petition, events[i])
    assert petition["stage"] == "closed"
    assert [e["type"] for e in domain.timeline(petition)] == list(DATA)


def test_a_late_dispatch_does_not_move_a_claimed_petition_back():
    petition = apply(fresh(), event("task.claimed.v1", 2))
    petition = apply(petition, event("petition.dispatched.v1", 1))
    assert petition["stage"] == "claimed"


def test_paid_work_waits_for_settlement_and_unpaid_work_closes_on_completion():
    paid = apply(fresh(), event("task.completed.v1", 1))
    assert paid["stage"] == "completed" and paid["closed_at"] is None
    unpaid = apply(fresh(), event("task.completed.v1", 1, funding=None, cost_fen=0))
    assert unpaid["stage"] == "closed" and unpaid["closed_at"] == (T0 + timedelta(minutes=1)).isoformat()


def test_a_petition_in_an_unknown_grid_is_refused_with_where_to_look():
    request = {"grid_id": "g999", "category": "drains", "description": "d" * 10,
               "location": {"lat": 1.0, "lng": 1.0}, "channel": "kiosk",
               "reporter": {"anonymous": True}}
    with pytest.raises(InvalidFields) as refused:
        domain.raise_petition("P", request, None, "c")
    assert "GET /grids" in refused.value.fields["grid_id"][0]


def test_the_raised_event_carries_no_personal_data():
    request = {"grid_id": "g1", "category": "drains", "description": "d" * 10,
               "location": {"lat": 1.0, "lng": 1.0}, "channel": "kiosk",
               "reporter": {"name": "Wang Fang", "phone": "13800000000", "anonymous": False}}
    petition, [raised] = domain.raise_petition("P", request, {"name": "G", "community_id": "c"},
                                               "corr")
    assert petition["reporter"]["name"] == "Wang Fang"
    assert "reporter" not in raised["data"] and "Wang" not in str(raised)


def test_money_is_shown_in_yuan_and_fen():
    assert domain.format_fen(12_345) == "¥123.45" and domain.format_fen(5) == "¥0.05"
