"""The dispatcher's rules: the most specific rule wins, nothing falls through, and a
returned petition never goes back to a team that returned it."""

from datetime import UTC, datetime

from services.grid import domain
from shared.catalogue import CATALOGUE
from shared.events import load_event, new_event

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
GRID = {"_id": "g07", "name": "Hexi grid 7", "community_id": "c-hexi",
        "community_type": "industrial"}


def rule(id, category="*", community_type="*", team="team-a", funding=True):
    return {"id": id, "category": category, "community_type": community_type,
            "handler": {"kind": "volunteer_team", "team_id": team, "name": team},
            "funding": {"department_id": "housing", "budget_line": "public_infrastructure"}
            if funding else None,
            "estimate_fen": 30_000, "acknowledge_hours": 4, "finish_hours": 72}


def raised(category="drains", type="petition.accepted.v1", round=1, previous_handler=None):
    """The petition's request for dispatch: its acceptance, return or reopening."""
    data = {"petition_id": "P-1", "grid_id": "g07", "community_id": "c-hexi",
            "category": category, "location": {"lat": 30.0, "lng": 120.0}, "round": round,
            "actor": "system", "reason": None}
    if type != "petition.accepted.v1":
        data["previous_handler"] = previous_handler
    event = new_event(CATALOGUE, type, "petition", "P-1", data, "corr")
    return load_event(CATALOGUE, event, type)


def test_an_exact_category_beats_an_exact_community_type():
    rules = [rule("by-type", community_type="industrial"), rule("by-category", category="drains")]
    assert domain.choose_rule(rules, "drains", "industrial")["id"] == "by-category"


def test_category_and_community_type_together_beat_either_alone():
    rules = [rule("c", category="drains"), rule("both", "drains", "industrial"),
             rule("t", community_type="industrial")]
    assert domain.choose_rule(rules, "drains", "industrial")["id"] == "both"


def test_a_rule_for_another_community_type_does_not_apply():
    rules = [rule("suburban-only", "drains", "suburban")]
    assert domain.choose_rule(rules, "drains", "industrial") is domain.FALLBACK_RULE


def test_a_matter_no_rule_covers_goes_to_the_grids_butler_team_unfunded():
    event = raised("other")
    record, dispatched = domain.dispatch(event.data, GRID, [rule("r", category="drains")], NOW,
                                         event)
    assert record["handler"] == {"kind": "butler_team", "team_id": "butler-g07",
                                 "name": "butler team of grid Hexi grid 7"}
    assert record["funding"] is None
    assert record["rule_id"] == "fallback-butler-team"


def test_a_dispatch_names_who_pays_how_much_and_by_when():
    event = raised()
    record, dispatched = domain.dispatch(event.data, GRID, [rule("r", category="drains")], NOW,
                                         event)
    assert record["funding"] == {"department_id": "housing", "budget_line": "public_infrastructure",
                                 "fiscal_year": 2026, "estimate_fen": 30_000,
                                 "centre_id": "centre-c-hexi"}
    assert record["acknowledge_by"] == "2026-11-23T13:00:00+00:00"
    assert record["due_by"] == "2026-11-26T09:00:00+00:00"
    assert dispatched["type"] == "petition.dispatched.v1"
    assert dispatched["causationid"] == event.id
    assert dispatched["correlationid"] == event.correlationid


def test_returned_order_is_not_sent_back_to_the_same_team():
    rules = [rule("best", category="drains", team="team-a"), rule("next", team="team-b")]
    first, _ = domain.dispatch(raised().data, GRID, rules, NOW, raised())
    returned = raised(type="petition.returned.v1", round=2, previous_handler=first["handler"])
    second, event = domain.dispatch(returned.data, GRID, rules, NOW, returned, first)
    assert first["handler"]["team_id"] == "team-a"
    assert second["handler"]["team_id"] == "team-b" and event["data"]["round"] == 2
    again = raised(type="petition.returned.v1", round=3, previous_handler=second["handler"])
    third, _ = domain.dispatch(again.data, GRID, rules, NOW, again, second)
    assert third["handler"]["team_id"] == "butler-g07"
    assert third["excluded_teams"] == ["team-a", "team-b"]


def test_a_reopened_order_goes_back_to_the_team_that_handled_it():
    rules = [rule("best", category="drains", team="team-a"), rule("next", team="team-b")]
    returned = raised(type="petition.returned.v1", round=2,
                      previous_handler={"kind": "volunteer_team", "team_id": "team-a", "name": "a"})
    second, _ = domain.dispatch(returned.data, GRID, rules, NOW, returned,
                                {"handler": returned.data["previous_handler"], "rule_id": "best"})
    reopened = raised(type="petition.reopened.v1", round=3, previous_handler=second["handler"])
    third, _ = domain.dispatch(reopened.data, GRID, rules, NOW, reopened, second)
    assert second["handler"]["team_id"] == third["handler"]["team_id"] == "team-b"


def test_reimporting_an_unchanged_grid_announces_nothing():
    record = {"name": "g", "workstation_id": "ws", "community_id": "c", "community_type": "urban",
              "households": 1, "population": 2, "boundary": None}
    first = domain.register_grid("g1", record, None, "corr")
    assert first.set["revision"] == 1 and len(first.events) == 1
    assert domain.register_grid("g1", record, {**record, "revision": 1}, "corr") is None
    changed = domain.register_grid("g1", dict(record, households=5), {**record, "revision": 1}, "c")
    assert changed.set["revision"] == 2 and changed.events[0]["data"]["revision"] == 2
