"""The petition lifecycle: every command in every state, the dispatch rounds, follow-up,
duplicates and the passing of time. Pure domain: no broker, no database."""

import itertools
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from services.petition import domain
from shared.catalogue import CATALOGUE
from shared.errors import Conflict, IllegalTransition, InvalidFields
from shared.events import Event

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
GRID = {"_id": "g01", "name": "Hexi 1", "community_id": "c-hexi"}
HANDLER = {"kind": "volunteer_team", "team_id": "team-drain-repair", "name": "Drains team"}
POLICY = domain.Policy()
REQUEST = {"category": "drains", "description": "The drain overflows when it rains.",
           "location": {"lat": 30.2741, "lng": 120.1551, "address": "Building 3"},
           "channel": "kiosk", "attributes": {"severity": "overflowing"}, "attachments": [],
           "reporter": {"name": "Wang Fang", "phone": "13800001234", "email": None,
                        "anonymous": False}, "proposal_id": None, "grid_id": None, "token": "t"}


def raised(policy=POLICY, duplicates=()):
    petition, events = domain.raise_petition("P-1", dict(REQUEST), GRID, list(duplicates), policy,
                                             T0, "corr")
    return petition, events


def apply(petition, change):
    """What the store does with a Change, on a plain dict."""
    updated = {**petition, **change.set}
    for name, items in change.push.items():
        updated[name] = list(petition.get(name, [])) + list(items)
    return updated


def run(petition, command, *args, at=T0):
    return apply(petition, command(*args, at, "corr", petition))


def event(type, data, minutes=1):
    return Event(id=f"e-{type}-{minutes}", source=CATALOGUE.producer_of(type), type=type,
                 subject="P-1", time=T0 + timedelta(minutes=minutes), correlationid="corr",
                 causationid=None, data={"petition_id": "P-1", **data})


def dispatched(round=1, minutes=1):
    return event("petition.dispatched.v1", {
        "round": round, "handler": HANDLER, "funding": None, "final": False,
        "acknowledge_by": T0 + timedelta(hours=4), "due_by": T0 + timedelta(hours=72)}, minutes)


def claimed(round=1, minutes=2):
    return event("task.claimed.v1", {"task_id": f"T-P-1-{round}", "round": round,
                                     "team_id": "t", "volunteer_id": "v1"}, minutes)


def completed(round=1, minutes=3):
    return event("task.completed.v1", {"task_id": f"T-P-1-{round}", "round": round,
                                       "team_id": "t", "volunteer_id": "v1", "hours": 2.0,
                                       "verified_by": "g07-leader", "cost_fen": 12_345,
                                       "funding": None}, minutes)


def follow(petition, *events):
    for e in events:
        petition = apply(petition, domain.follow(e, petition))
    return petition


def rate(petition, rating, cause="handler"):
    return run(petition, domain.follow_up, {"rating": rating, "comment": "ok", "cause": cause,
                                            "by": "resident"}, "resident")


def in_state(state):
    """A petition that has reached ``state`` the way it would in practice."""
    petition, _ = raised()
    steps = {
        "raised": lambda: raised(duplicates=[{"id": "P-0", "distance_m": 3.0,
                                              "raised_at": T0.isoformat()}])[0],
        "accepted": lambda: petition,
        "dispatched": lambda: follow(petition, dispatched()),
        "acknowledged": lambda: follow(petition, dispatched(), claimed()),
        "in_progress": lambda: run(in_state("acknowledged"), domain.report_progress, "v1", "digging"),
        "resolved": lambda: follow(petition, dispatched(), claimed(), completed()),
        "returned": lambda: run(in_state("dispatched"), domain.return_to_dispatcher, "v1",
                                "not ours", "not_our_duty"),
        "reopened": lambda: rate(in_state("resolved"), 1),
        "verified": lambda: rate(in_state("resolved"), 5),
        "closed": lambda: run(in_state("verified"), domain.close, "staff", None),
        "rejected": lambda: run(petition, domain.reject, "staff", "not a government matter"),
        "merged": lambda: run(petition, domain.merge, {"_id": "P-0", "state": "accepted"},
                              "staff", "same drain"),
    }
    found = steps[state]()
    assert found["state"] == state
    return found


COMMANDS = {
    "accept": partial(domain.accept, "staff", None),
    "reject": partial(domain.reject, "staff", "not ours to handle"),
    "merge": partial(domain.merge, {"_id": "P-0", "state": "accepted"}, "staff", "same drain"),
    "acknowledge": partial(domain.acknowledge, "staff"),
    "report_progress": partial(domain.report_progress, "v1", "parts ordered"),
    "resolve": partial(domain.resolve, "v1", "cleared the drain"),
    "return": partial(domain.return_to_dispatcher, "v1", "this is a main road: housing's",
                      "needs_other_department"),
    "escalate": partial(domain.escalate, "supervisor", "resident called again"),
    "confirm_work": partial(domain.confirm_work, "resident"),
    "follow_up": partial(domain.follow_up, {"rating": 4, "comment": None, "cause": "handler",
                                            "by": "resident"}, "resident"),
    "close": partial(domain.close, "staff", None),
}
PAIRS = list(itertools.product(COMMANDS, domain.STATES))


def test_the_lifecycle_table_covers_every_command():
    assert set(COMMANDS) == set(domain.LIFECYCLE.transitions)


@pytest.mark.parametrize("command, state", [
    (c, s) for c, s in PAIRS if s in domain.LIFECYCLE.transitions[c].sources])
def test_each_command_moves_the_petition_from_each_state_that_allows_it(command, state):
    petition = in_state(state)
    change = COMMANDS[command](T0, "corr", petition)
    expected = domain.LIFECYCLE.transitions[command].target or state
    if command == "follow_up":
        expected = "verified"
    assert change.set.get("state", state) == expected
    assert change.events and change.push["timeline"]
    assert change.push["timeline"][0]["event_id"] == change.events[0]["id"]


@pytest.mark.parametrize("command, state", [
    (c, s) for c, s in PAIRS if s not in domain.LIFECYCLE.transitions[c].sources])
def test_each_command_is_refused_in_every_other_state_with_what_is_allowed(command, state):
    petition = in_state(state)
    with pytest.raises(IllegalTransition) as refused:
        COMMANDS[command](T0, "corr", petition)
    assert refused.value.details == {"state": state, "allowed": domain.LIFECYCLE.allowed(state)}
    assert state in refused.value.message


def test_a_clear_petition_is_accepted_at_once_and_sent_to_the_dispatcher():
    petition, events = raised()
    assert petition["state"] == "accepted" and petition["round"] == 1
    assert [e["type"] for e in events] == ["petition.raised.v1", "petition.accepted.v1"]
    assert events[1]["data"]["round"] == 1 and events[1]["data"]["grid_id"] == "g01"


def test_a_likely_duplicate_waits_in_raised_for_staff_to_accept_or_merge():
    candidate = {"id": "P-0", "distance_m": 12.5, "raised_at": T0.isoformat()}
    petition, events = raised(duplicates=[candidate])
    assert petition["state"] == "raised" and petition["duplicate_candidates"] == [candidate]
    assert [e["type"] for e in events] == ["petition.raised.v1"]
    assert events[0]["data"]["duplicate_candidates"] == ["P-0"]


def test_a_deployment_can_have_staff_accept_every_petition():
    petition, events = raised(policy=domain.Policy(auto_accept=False))
    assert petition["state"] == "raised" and len(events) == 1


def test_likely_duplicates_are_those_within_the_radius_nearest_first():
    here = {"lat": 30.0, "lng": 120.0}
    nearby = [{"_id": "far", "location": {"lat": 30.001, "lng": 120.0}, "raised_at": "t"},  # ~111 m
              {"_id": "near", "location": {"lat": 30.0001, "lng": 120.0}, "raised_at": "t"},  # ~11 m
              {"_id": "close", "location": {"lat": 30.0003, "lng": 120.0}, "raised_at": "t"}]
    found = domain.likely_duplicates(here, nearby, domain.Policy(duplicate_radius_m=50))
    assert [d["id"] for d in found] == ["near", "close"]
    assert 10 < found[0]["distance_m"] < 12


def test_the_raised_event_carries_no_personal_data():
    _, events = raised()
    assert "Wang" not in str(events) and "13800001234" not in str(events)


def test_a_return_asks_the_dispatcher_for_the_next_round_naming_who_returned_it():
    petition = run(in_state("acknowledged"), domain.return_to_dispatcher, "v1", "main road",
                   "needs_other_department")
    assert petition["state"] == "returned" and petition["round"] == 2 and petition["returns"] == 1
    change = domain.return_to_dispatcher("v1", "x", "wrong_area", T0, "c", in_state("acknowledged"))
    assert change.events[0]["data"]["previous_handler"] == HANDLER
    assert change.events[0]["data"]["return_reason"] == "wrong_area"
    redispatched = follow(petition, dispatched(round=2, minutes=10))
    assert redispatched["state"] == "dispatched"
    assert redispatched["timeline"][-1]["summary"].startswith("Re-dispatched")


def test_events_of_an_earlier_round_only_add_to_the_timeline():
    petition = follow(run(in_state("dispatched"), domain.return_to_dispatcher, "v1", "not ours",
                          "not_our_duty"), dispatched(round=2, minutes=10))
    late = follow(petition, completed(round=1, minutes=11))
    assert late["state"] == "dispatched" and late["round"] == 2
    assert "superseded" in late["timeline"][-1]["summary"]


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_any_arrival_order_of_a_rounds_events_ends_resolved_with_the_timeline_in_order(order):
    events = [dispatched(), claimed(), completed()]
    petition, _ = raised()
    petition = follow(petition, *[events[i] for i in order])
    assert petition["state"] == "resolved" and petition["handler"] == HANDLER
    types = [e.type for e in events]
    assert [e["type"] for e in domain.timeline(petition) if e["type"] in types] == types


def test_a_late_dispatch_does_not_move_an_acknowledged_petition_back():
    petition, _ = raised()
    petition = follow(petition, claimed(minutes=2), dispatched(minutes=1))
    assert petition["state"] == "acknowledged"


def test_following_a_claim_and_completion_emits_the_petitions_own_events():
    petition, _ = raised()
    change = domain.follow(claimed(), follow(petition, dispatched()))
    assert [e["type"] for e in change.events] == ["petition.acknowledged.v1"]
    change = domain.follow(completed(), follow(petition, dispatched(), claimed()))
    assert [e["type"] for e in change.events] == ["petition.resolved.v1"]


def test_a_satisfied_rating_verifies_the_resolution():
    petition = rate(in_state("resolved"), 4)
    assert petition["state"] == "verified" and petition["ratings"][-1]["satisfied"] is True
    closed = run(petition, domain.close, "staff", None)
    assert closed["outcome"] == "satisfied"


def test_a_poor_rating_for_a_cause_the_handler_owns_reopens_the_petition():
    petition = rate(in_state("resolved"), 2)
    assert petition["state"] == "reopened" and petition["round"] == 2
    assert petition["ratings"][-1]["satisfied"] is False
    back = follow(petition, dispatched(round=2, minutes=20))
    assert back["state"] == "dispatched"


def test_a_poor_rating_for_a_cause_outside_the_handler_is_verified_as_not_satisfied():
    petition = rate(in_state("resolved"), 1, cause="outside_handler")
    assert petition["state"] == "verified"
    assert run(petition, domain.close, "staff", None)["outcome"] == "not_satisfied"


def test_an_unanswered_follow_up_closes_as_no_response_after_its_window():
    petition = in_state("resolved")
    resolved_at = datetime.fromisoformat(petition["resolved_at"])
    assert domain.sweep(resolved_at + timedelta(hours=71), POLICY, "c", petition) is None
    closed = apply(petition, domain.sweep(resolved_at + timedelta(hours=72), POLICY, "c", petition))
    assert closed["state"] == "closed" and closed["outcome"] == "no_response"


def test_a_verified_petition_is_archived_after_the_archive_window():
    petition = in_state("verified")
    later = datetime.fromisoformat(petition["verified_at"]) + timedelta(hours=24)
    assert apply(petition, domain.sweep(later, POLICY, "c", petition))["state"] == "closed"


def test_the_dispatchers_escalations_raise_the_supervision_level_and_never_lower_it():
    petition = in_state("dispatched")
    data = {"round": 1, "grid_id": "g01", "clock": "acknowledge", "handler": HANDLER,
            "deadline": T0 + timedelta(hours=4), "to_place": "ws-1"}
    up = follow(petition, event("dispatch.escalated.v1", {**data, "level": 2}, 10))
    assert up["escalation_level"] == 2 and "督办" in up["timeline"][-1]["summary"]
    again = follow(up, event("dispatch.escalated.v1", {**data, "level": 1}, 11))
    assert again["escalation_level"] == 2 and again["state"] == "dispatched"


def test_an_extension_decision_moves_the_finish_deadline():
    new_due = T0 + timedelta(days=9)
    petition = follow(in_state("dispatched"), event("dispatch.extension_decided.v1", {
        "round": 1, "grid_id": "g01", "actor": "centre", "approved": True, "reason": None,
        "due_by": new_due}, 30))
    assert petition["finish_by"] == new_due.isoformat()


def test_an_order_the_dispatch_centre_ruled_on_cannot_be_returned():
    petition, _ = raised()
    final = follow(petition, event("petition.dispatched.v1", {
        "round": 1, "handler": HANDLER, "funding": None, "final": True,
        "acknowledge_by": T0 + timedelta(hours=4), "due_by": T0 + timedelta(hours=72)}))
    with pytest.raises(Conflict, match="final"):
        domain.return_to_dispatcher("v1", "still not ours", "not_our_duty", T0, "c", final)


def test_a_merged_petition_closes_with_the_outcome_of_the_one_it_joined():
    duplicate = in_state("merged")
    primary = {"_id": "P-0", "outcome": "satisfied"}
    closed = apply(duplicate, domain.close_with_primary(primary, T0, "c", duplicate))
    assert closed["state"] == "closed" and closed["outcome"] == "satisfied"
    assert "P-0" in closed["timeline"][-1]["summary"]
    assert domain.close_with_primary(primary, T0, "c", closed) is None


@pytest.mark.parametrize("primary, error", [
    (None, InvalidFields), ({"_id": "P-1", "state": "accepted"}, InvalidFields),
    ({"_id": "P-0", "state": "closed"}, Conflict),
    ({"_id": "P-0", "state": "merged", "merged_into": "P-9"}, Conflict),
])
def test_a_petition_merges_only_into_another_open_petition(primary, error):
    petition, _ = raised()
    with pytest.raises(error):
        domain.merge(primary, "staff", "same", T0, "c", petition)


def test_the_public_never_sees_contact_details_and_anonymous_reporters_are_not_named():
    reporter = REQUEST["reporter"]
    assert domain.reporter_for_public(reporter) == "W*** F***"
    assert domain.reporter_for_public({**reporter, "anonymous": True}) is None


def test_staff_see_masked_contact_details_unless_their_role_contacts_residents():
    reporter = REQUEST["reporter"]
    masked = domain.reporter_for_staff(reporter, "auditor")
    assert masked["name"] == "W*** F***" and masked["phone"] == "138****1234"
    assert domain.reporter_for_staff(reporter, "dispatcher")["phone"] == "13800001234"
    assert domain.reporter_for_staff(reporter, None)["phone"] == "138****1234"


def test_a_policy_reads_its_settings_from_configuration():
    policy = domain.Policy.from_config({"PETITION_AUTO_ACCEPT": "false",
                                        "PETITION_DUPLICATE_RADIUS_M": "80"})
    assert policy.auto_accept is False and policy.duplicate_radius_m == 80
    assert policy.follow_up_hours == POLICY.follow_up_hours


def test_blocked_funding_escalates_the_petition_and_says_so():
    petition = follow(in_state("dispatched"), event("funds.blocked.v1", {
        "round": 1, "department_id": "housing", "budget_line": "public_infrastructure",
        "fiscal_year": 2026, "amount_fen": 30_000, "currency": "CNY", "stage": "hold",
        "available_fen": 100, "reason": "short"}, 5))
    assert petition["escalation_level"] == 1
    assert "Funding blocked" in petition["timeline"][-1]["summary"]
