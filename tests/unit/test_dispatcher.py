"""The dispatcher: the most specific rule wins, the least loaded handler gets it, every
decision is explained, returns never circle, and late orders are reminded and escalated
on the working calendar. Pure domain, with the clock in the test's hand."""

from datetime import UTC, datetime, timedelta

import pytest

from services.grid import dispatcher, registry
from services.grid.calendar import WorkCalendar
from shared.catalogue import CATALOGUE
from shared.errors import Conflict
from shared.events import load_event, new_event

# Monday 23 November 2026, 10:00 in Beijing.
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
CALENDAR = WorkCalendar()
POLICY = dispatcher.DispatchPolicy()
GRID = {"_id": "g07", "name": "Hexi grid 7", "community_id": "c-hexi",
        "community_type": "industrial", "workstation_id": "ws-1",
        "sub_district_id": "sd-xiaojianghu", "district_id": "d-county",
        "butler_team": {"legal_service_officer": [{"id": "p-7", "name": "Zhao Lei"}]}}
TEAMS = {"team-a": {"_id": "team-a", "name": "Team A", "kind": "volunteer_team",
                    "skills": ["plumbing"]},
         "team-b": {"_id": "team-b", "name": "Team B", "kind": "volunteer_team",
                    "skills": ["plumbing", "electrics"]}}
WITHIN = {"acknowledge_within": {"amount": 2, "unit": "working_hours"},
          "finish_within": {"amount": 3, "unit": "working_days"}}


def rule(id, handler, category="drains", community_type="*", area="*", funding=True):
    return {"id": id, "category": category, "community_type": community_type, "area": area,
            "handler": handler, "estimate_fen": 30_000, **WITHIN,
            "funding": {"department_id": "housing", "budget_line": "public_infrastructure"}
            if funding else None}


TEAM_A = {"kind": "volunteer_team", "team_id": "team-a"}
PLUMBERS = {"kind": "volunteer_skill", "skill": "plumbing"}


def request(type="petition.accepted.v1", round=1, category="drains", previous_handler=None,
            return_reason=None):
    data = {"petition_id": "P-1", "grid_id": "g07", "community_id": "c-hexi",
            "category": category, "location": {"lat": 30.0, "lng": 120.0}, "round": round,
            "actor": "system", "reason": None}
    if type != "petition.accepted.v1":
        data.update(previous_handler=previous_handler, return_reason=return_reason)
    return load_event(CATALOGUE, new_event(CATALOGUE, type, "petition", "P-1", data, "c"), type)


def dispatch(rules, load=None, previous=None, event=None, policy=POLICY, now=NOW):
    event = event or request()
    return dispatcher.dispatch(event.data, GRID, rules, TEAMS, load or {}, previous, policy,
                               CALENDAR, now, event)


def returned(record, round):
    event = request("petition.returned.v1", round, previous_handler=record["handler"],
                    return_reason="not_our_duty")
    return event


# Choosing


@pytest.mark.parametrize("handler, expected", [
    ({"kind": "butler_role", "role": "legal_service_officer"},
     {"kind": "butler_team", "team_id": "butler-g07", "role": "legal_service_officer"}),
    ({"kind": "butler_team"}, {"kind": "butler_team", "team_id": "butler-g07"}),
    (TEAM_A, {"kind": "volunteer_team", "team_id": "team-a"}),
    ({"kind": "volunteer_skill", "skill": "electrics"}, {"kind": "volunteer_team", "team_id": "team-b"}),
    ({"kind": "department", "department_id": "housing", "name": "Housing bureau"},
     {"kind": "department", "department_id": "housing"}),
])
def test_each_kind_of_handler_is_routed_to(handler, expected):
    record, [event] = dispatch([rule("r", handler)])
    assert {k: record["handler"].get(k) for k in expected} == expected
    assert event["type"] == "petition.dispatched.v1" and event["data"]["handler"]["name"]


def test_a_dispatch_names_the_places_its_grid_lies_in_as_the_registry_has_them():
    _, [event] = dispatch([rule("r", TEAM_A)])
    assert event["data"]["places_above"] == ["ws-1", "c-hexi", "sd-xiaojianghu", "d-county"]


def test_the_narrowest_area_beats_a_wider_one_and_an_exact_category_beats_both():
    rules = [rule("county", TEAM_A, area="d-county"),
             rule("workstation", {"kind": "butler_team"}, area="ws-1"),
             rule("any-category-in-grid", {"kind": "butler_team"}, category="*", area="g07")]
    record, _ = dispatch(rules)
    assert record["rule_id"] == "workstation"
    considered = {c["rule_id"]: c["outcome"] for c in record["explanation"]["considered"]}
    assert considered["county"] == "less_specific"
    assert considered["any-category-in-grid"] == "less_specific"


def test_a_rule_for_another_area_or_community_type_does_not_apply_and_says_why():
    rules = [rule("other-grid", TEAM_A, area="g99"),
             rule("suburban", TEAM_A, community_type="suburban")]
    record, _ = dispatch(rules)
    assert record["rule_id"] == "fallback-butler-team"
    why = {c["rule_id"]: c["why"] for c in record["explanation"]["considered"]}
    assert "does not contain grid g07" in why["other-grid"]
    assert "suburban communities, not industrial" in why["suburban"]


def test_among_eligible_teams_the_one_with_fewest_open_orders_gets_it():
    record, _ = dispatch([rule("plumbing", PLUMBERS)], load={"team-a": 5, "team-b": 2})
    assert record["handler"]["team_id"] == "team-b"
    assert {"rule_id": "plumbing", "handler": "Team A", "outcome": "busier",
            "why": "5 open orders against 2"} in record["explanation"]["considered"]
    assert "fewest open orders" in record["explanation"]["chosen"]["why"]


def test_open_orders_are_counted_only_for_handlers_tied_on_a_rule_that_applies():
    rules = [rule("plumbing", PLUMBERS), rule("electrics", TEAM_A, category="electrics"),
             rule("anything", TEAM_A, category="*")]
    assert dispatcher.handlers_to_balance(request().data, GRID, rules, TEAMS) == {
        "team-a", "team-b"}
    assert dispatcher.handlers_to_balance(request().data, GRID, rules[1:], TEAMS) == set()


def test_a_matter_no_rule_covers_goes_to_the_grids_butler_team_unfunded():
    record, _ = dispatch([rule("r", TEAM_A, category="sanitation")],
                         event=request(category="other"))
    assert record["handler"]["team_id"] == "butler-g07" and record["funding"] is None


def test_a_role_nobody_holds_is_no_handler_and_the_next_rule_takes_it():
    rules = [rule("cleaner", {"kind": "butler_role", "role": "grid_cleaner"}),
             rule("team", TEAM_A, category="*")]
    record, _ = dispatch(rules)
    assert record["rule_id"] == "team"
    assert record["explanation"]["considered"][0]["outcome"] == "no_handler"


def test_time_limits_count_working_hours_and_days():
    record, _ = dispatch([rule("r", TEAM_A)])
    # 10:00 Monday + 2 working hours = 12:00 Beijing = 04:00 UTC
    assert record["acknowledge_by"] == "2026-11-23T04:00:00+00:00"
    assert record["due_by"] == "2026-11-26T02:00:00+00:00"  # Thursday 10:00 Beijing
    friday, _ = dispatch([rule("r", TEAM_A)], now=NOW + timedelta(days=4))
    assert friday["due_by"] == "2026-12-02T02:00:00+00:00"  # the weekend does not count


# Returns and the arbiter


def test_returned_order_is_not_sent_back_to_the_same_team():
    rules = [rule("best", TEAM_A), rule("next", {"kind": "volunteer_team", "team_id": "team-b"},
                                        category="*")]
    first, _ = dispatch(rules)
    second, [event] = dispatch(rules, previous=first, event=returned(first, 2))
    assert (first["handler"]["team_id"], second["handler"]["team_id"]) == ("team-a", "team-b")
    assert event["data"]["round"] == 2 and second["excluded"] == ["team-a"]
    assert {"rule_id": "best", "handler": "Team A", "outcome": "returned_it",
            "why": "this handler returned the order before"} in second["explanation"]["considered"]


def test_after_the_bounce_limit_the_order_waits_for_a_ruling_instead_of_circling():
    policy = dispatcher.DispatchPolicy(max_returns=1)
    rules = [rule("best", TEAM_A), rule("next", {"kind": "volunteer_team", "team_id": "team-b"},
                                        category="*")]
    first, _ = dispatch(rules, policy=policy)
    second, _ = dispatch(rules, previous=first, event=returned(first, 2), policy=policy)
    third, [event] = dispatch(rules, previous=second, event=returned(second, 3), policy=policy)
    assert third["state"] == "awaiting_ruling" and third["open"] is False
    assert event["type"] == "dispatch.arbitration_requested.v1" and event["data"]["returns"] == 2
    assert "more than the 1 allowed" in third["explanation"]["arbitration"]


def test_when_every_handler_has_returned_it_a_person_rules():
    first, _ = dispatch([rule("only", TEAM_A)])
    butler = {**first, "handler": {"kind": "butler_team", "team_id": "butler-g07", "name": "b"},
              "excluded": ["team-a"], "returns": 1}
    record, [event] = dispatch([rule("only", TEAM_A)], previous=butler, event=returned(butler, 3))
    assert record["state"] == "awaiting_ruling"
    assert "every eligible handler" in record["explanation"]["arbitration"]


def test_the_arbiters_ruling_is_final_and_recorded():
    waiting, _ = dispatch([rule("best", TEAM_A)], policy=dispatcher.DispatchPolicy(max_returns=0),
                          event=returned({"handler": None}, 2),
                          previous={"handler": {"kind": "volunteer_team", "team_id": "team-a",
                                                "name": "A"}, "returns": 0, "excluded": []})
    ruling = {"arbiter": "dispatch-centre-1", "reason": "Lane drains are the community's",
              "handler": TEAM_A}
    change = dispatcher.rule_by_arbiter(ruling, GRID, TEAMS, POLICY, CALENDAR, NOW, "c", waiting)
    assert change.set["final"] is True and change.set["state"] == "open"
    assert change.events[0]["data"]["final"] is True
    assert "ruled by dispatch-centre-1" in change.set["explanation"]["chosen"]["why"]
    with pytest.raises(Conflict):
        dispatcher.rule_by_arbiter(ruling, GRID, TEAMS, POLICY, CALENDAR, NOW, "c",
                                   {**waiting, **change.set})


def test_a_reopened_order_goes_back_to_the_team_that_handled_it():
    rules = [rule("skill", PLUMBERS)]
    first, _ = dispatch(rules, load={"team-a": 0, "team-b": 9})
    reopened = request("petition.reopened.v1", 2, previous_handler=first["handler"])
    second, _ = dispatch(rules, load={"team-a": 9, "team-b": 0}, previous=first, event=reopened)
    assert first["handler"]["team_id"] == second["handler"]["team_id"] == "team-a"


# Clocks


def apply(record, change):
    updated = {**record, **change.set}
    for name, items in change.push.items():
        updated[name] = record[name] + items
    return updated


def clock(record, at):
    change = dispatcher.run_clocks(at, POLICY, CALENDAR, "c", record)
    return (apply(record, change), [e["type"] for e in change.events]) if change else (record, [])


def test_an_unacknowledged_order_is_reminded_then_escalated_to_the_workstation_then_the_sub_district():
    record, _ = dispatch([rule("r", TEAM_A)])
    deadline = datetime.fromisoformat(record["acknowledge_by"])  # Monday 12:00 Beijing
    assert record["next_clock_at"] == record["acknowledge_by"]
    record, events = clock(record, deadline - timedelta(minutes=1))
    assert events == []
    record, events = clock(record, deadline)
    assert events == ["dispatch.reminded.v1"]
    record, events = clock(record, deadline + timedelta(hours=2))  # 14:00: lunch does not count
    assert events == []
    record, events = clock(record, deadline + timedelta(hours=3, minutes=30))  # 2 working hours
    assert events == ["dispatch.escalated.v1"]
    change = dispatcher.run_clocks(NOW + timedelta(days=1, hours=6), POLICY, CALENDAR, "c", record)
    assert [(e["data"]["level"], e["data"]["to_place"]) for e in change.events] == [
        (2, "sd-xiaojianghu")]


def test_acknowledging_stops_the_acknowledge_clock_but_not_the_finish_clock():
    record, _ = dispatch([rule("r", TEAM_A)])
    change = dispatcher.progress("petition.acknowledged.v1", NOW + timedelta(hours=1), POLICY,
                                 CALENDAR, record)
    acknowledged = apply(record, change)
    assert acknowledged["acknowledged_on_time"] is True
    assert acknowledged["next_clock_at"] == record["due_by"]
    resolved = apply(acknowledged, dispatcher.progress(
        "petition.resolved.v1", NOW + timedelta(hours=5), POLICY, CALENDAR, acknowledged))
    assert resolved["open"] is False and resolved["next_clock_at"] is None


def test_progress_of_a_round_already_superseded_changes_nothing():
    record, _ = dispatch([rule("r", TEAM_A)])
    superseded = apply(record, dispatcher.superseded(record))
    for event_type in ("petition.acknowledged.v1", "petition.resolved.v1"):
        assert dispatcher.progress(event_type, NOW, POLICY, CALENDAR, superseded) is None


def test_a_pending_extension_pauses_the_finish_clock_and_the_pause_is_added_back():
    record, _ = dispatch([rule("r", TEAM_A)])
    record = apply(record, dispatcher.progress("petition.acknowledged.v1", NOW, POLICY, CALENDAR,
                                               record))
    asked = NOW + timedelta(days=1)  # Tuesday 10:00
    paused = apply(record, dispatcher.request_extension(
        {"actor": "team-a-1", "reason": "parts on order", "working_days": 2}, asked, POLICY,
        CALENDAR, "c", record))
    assert paused["next_clock_at"] is None  # nothing runs while it waits
    decided = NOW + timedelta(days=2)  # Wednesday 10:00: one working day paused
    change = dispatcher.decide_extension({"actor": "centre", "approve": True}, decided, POLICY,
                                         CALENDAR, "c", paused)
    # Thursday 10:00 + 1 working day paused + 2 granted = the next Tuesday 10:00 Beijing
    assert change.set["due_by"] == "2026-12-01T02:00:00+00:00"
    assert change.events[0]["data"]["approved"] is True
    refused = dispatcher.decide_extension({"actor": "centre", "approve": False}, decided, POLICY,
                                          CALENDAR, "c", paused)
    assert refused.set["due_by"] == "2026-11-27T02:00:00+00:00"  # only the pause added back


def test_an_extension_must_be_asked_for_before_the_deadline():
    record, _ = dispatch([rule("r", TEAM_A)])
    with pytest.raises(Conflict, match="before it"):
        dispatcher.request_extension({"actor": "a", "reason": "late", "working_days": 1},
                                     NOW + timedelta(days=10), POLICY, CALENDAR, "c", record)


# The registry


def test_reimporting_an_unchanged_grid_announces_nothing():
    record = {"name": "g", "workstation_id": "ws", "community_id": "c", "community_type": "urban",
              "households": 1, "population": 2, "boundary": None, "butler_team": {}}
    first = registry.register_grid("g1", record, None, "corr")
    assert first.set["revision"] == 1 and len(first.events) == 1
    assert registry.register_grid("g1", record, {**record, "revision": 1}, "corr") is None
    changed = registry.register_grid("g1", dict(record, households=5), {**record, "revision": 1}, "c")
    assert changed.set["revision"] == 2 and changed.events[0]["data"]["revision"] == 2


def test_households_and_population_roll_up_from_the_grids_to_every_level():
    document = {
        "districts": [{"id": "d"}], "sub_districts": [{"id": "s", "district_id": "d"}],
        "communities": [{"id": "c", "sub_district_id": "s"}],
        "workstations": [{"id": "w", "community_id": "c"}],
        "grids": [{"id": "g1", "workstation_id": "w", "households": 300, "population": 800},
                  {"id": "g2", "workstation_id": "w", "households": 250, "population": 600}],
        "buildings": []}
    totals = registry.figures(document)
    assert totals["d"] == totals["w"] == {"households": 550, "population": 1400, "grids": 2}


def test_a_registry_that_names_unknown_or_repeated_places_is_refused_with_each_problem():
    from shared.errors import InvalidFields
    document = {
        "districts": [{"id": "d"}], "sub_districts": [{"id": "s", "district_id": "x"}],
        "communities": [{"id": "c", "sub_district_id": "s"}, {"id": "c", "sub_district_id": "s"}],
        "workstations": [], "grids": [], "buildings": [{"id": "b", "grid_id": "g9"}]}
    with pytest.raises(InvalidFields) as refused:
        registry.check_registry(document)
    assert set(refused.value.fields) == {"sub_districts", "communities", "buildings"}
    assert "twice" in refused.value.fields["communities"][1]["id"][0]
