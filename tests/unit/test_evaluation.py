"""The three rates (三率) of places, handlers and departments, folded from a known event
history whose figures are counted by hand below."""

import random
from datetime import UTC, datetime, timedelta

from services.grid import evaluation

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Shanghai
PLACES = {"g01": ["w1", "c1", "sd1", "d1"], "g02": ["w2", "c1", "sd1", "d1"]}


def at(hours):
    return (T0 + timedelta(hours=hours)).isoformat()


class History:
    """Events as the grid service logs them: type, time, id and data."""

    def __init__(self):
        self.events, self.n = [], 0

    def add(self, type, hours, petition_id, **data):
        self.n += 1
        self.events.append({"type": type, "time": at(hours), "id": f"e{self.n:03d}",
                            "data": {"petition_id": petition_id, **data}})

    def dispatched(self, hours, petition_id, round, team, grid="g01", department="housing"):
        self.add("petition.dispatched.v1", hours, petition_id, round=round, grid_id=grid,
                 community_id="c1",
                 handler={"kind": "volunteer_team", "team_id": team, "name": team},
                 funding={"department_id": department}, acknowledge_by=at(hours + 1),
                 due_by=at(hours + 72))

    def of(self, petition_id):
        return [e for e in self.events if e["data"]["petition_id"] == petition_id]


def known_history():
    """P1 handled well by team A; P2 acknowledged late by A, rated poor and reopened, then
    handled well by B; P3 never acknowledged by B; P4 handled on time by A, rated well,
    closed, then overturned by a spot check and dispatched to A again."""
    h = History()
    h.dispatched(0, "P1", 1, "team-a")
    h.add("petition.acknowledged.v1", 0.5, "P1", round=1)
    h.add("petition.resolved.v1", 24, "P1", round=1)
    h.add("petition.verified.v1", 30, "P1", rating=5, satisfied=True)
    h.add("petition.closed.v1", 31, "P1", outcome="satisfied")
    h.dispatched(1, "P2", 1, "team-a")
    h.add("petition.acknowledged.v1", 3, "P2", round=1)
    h.add("petition.resolved.v1", 20, "P2", round=1)
    h.add("petition.verified.v1", 21, "P2", rating=2, satisfied=False)
    h.add("petition.reopened.v1", 21, "P2", round=2)
    h.dispatched(22, "P2", 2, "team-b")
    h.add("petition.acknowledged.v1", 22.5, "P2", round=2)
    h.add("petition.resolved.v1", 40, "P2", round=2)
    h.add("petition.verified.v1", 41, "P2", rating=5, satisfied=True)
    h.dispatched(2, "P3", 1, "team-b", grid="g02")
    h.dispatched(200, "P4", 1, "team-a", department="roads")
    h.add("petition.acknowledged.v1", 200.2, "P4", round=1)
    h.add("petition.resolved.v1", 210, "P4", round=1)
    h.add("petition.verified.v1", 211, "P4", rating=5, satisfied=True)
    h.add("petition.closed.v1", 212, "P4", outcome="satisfied")
    h.add("spot_check.overturned.v1", 300, "P4", spot_check_id="S1", grid_id="g01")
    h.add("petition.reopened.v1", 300, "P4", round=2)
    h.dispatched(301, "P4", 2, "team-a", department="roads")
    return h


def facts_of(history):
    return [evaluation.fold(p, history.of(p), PLACES.get) for p in ("P1", "P2", "P3", "P4")]


def figures(history, kind, subject_id, start=None, end=None):
    facts = [f for f in facts_of(history) if subject_id in f[evaluation.facts_field(kind)]]
    return evaluation.figures(evaluation.units_of(facts, kind, subject_id), start, end)


def counts(found):
    return {k: found[k] for k in ("dispatched", "acknowledged_on_time", "resolved", "rated",
                                  "satisfied", "response_rate", "resolution_rate",
                                  "satisfaction_rate")}


def test_a_community_counts_its_petitions_by_their_first_round_and_standing_outcome():
    # P1 and P4 were acknowledged in time; P1 and P2 stay resolved (P4 was overturned);
    # P1, P2 (its last rating) and P4 were rated satisfied.
    assert counts(figures(known_history(), "community", "c1")) == {
        "dispatched": 4, "acknowledged_on_time": 2, "resolved": 2, "rated": 3, "satisfied": 3,
        "response_rate": 0.5, "resolution_rate": 0.5, "satisfaction_rate": 1.0}


def test_a_grid_counts_only_the_petitions_raised_in_it():
    assert counts(figures(known_history(), "grid", "g02")) == {
        "dispatched": 1, "acknowledged_on_time": 0, "resolved": 0, "rated": 0, "satisfied": 0,
        "response_rate": 0.0, "resolution_rate": 0.0, "satisfaction_rate": None}


def test_a_handler_counts_each_round_it_was_given():
    # Team A had P1, P2 (round 1, reopened), P4 (round 1, overturned) and P4 round 2.
    assert counts(figures(known_history(), "handler", "team-a")) == {
        "dispatched": 4, "acknowledged_on_time": 2, "resolved": 1, "rated": 3, "satisfied": 2,
        "response_rate": 0.5, "resolution_rate": 0.25, "satisfaction_rate": 0.6667}
    assert counts(figures(known_history(), "handler", "team-b")) == {
        "dispatched": 2, "acknowledged_on_time": 1, "resolved": 1, "rated": 1, "satisfied": 1,
        "response_rate": 0.5, "resolution_rate": 0.5, "satisfaction_rate": 1.0}


def test_a_department_counts_the_rounds_it_pays_for():
    assert figures(known_history(), "department", "roads")["dispatched"] == 2
    assert figures(known_history(), "department", "housing")["dispatched"] == 4


def test_an_overturn_counts_against_the_handler_of_the_overturned_round():
    before = known_history()
    before.events = [e for e in before.events if e["time"] < at(300)]
    assert figures(before, "handler", "team-a")["resolved"] == 2
    assert figures(known_history(), "handler", "team-a")["resolved"] == 1
    assert figures(known_history(), "community", "c1")["resolved"] == 2


def test_the_period_selects_by_first_dispatch_and_the_trend_splits_by_week_and_month():
    found = figures(known_history(), "community", "c1", start=at(0), end=at(100))
    assert found["dispatched"] == 3  # P4 was first dispatched in the next week
    whole = figures(known_history(), "community", "c1")
    assert [(w["period"], w["dispatched"]) for w in whole["trend"]["week"]] == [
        ("2026-W45", 3), ("2026-W46", 1)]
    assert [(m["period"], m["dispatched"]) for m in whole["trend"]["month"]] == [("2026-11", 4)]


def test_folding_the_events_in_any_order_or_twice_gives_the_same_facts():
    history = known_history()
    expected = facts_of(history)
    shuffled = history.events[:]
    random.Random(7).shuffle(shuffled)
    history.events = shuffled + shuffled[:5]  # redelivered
    # The same event delivered twice is logged once; the fold sees each once.
    history.events = list({e["id"]: e for e in history.events}.values())
    assert facts_of(history) == expected


def test_each_event_that_follows_the_facts_is_folded_in_alone_with_the_same_result():
    history = known_history()
    for petition_id, expected in zip(("P1", "P2", "P3", "P4"), facts_of(history), strict=True):
        events = sorted(history.of(petition_id), key=lambda e: (e["time"], e["id"]))
        facts = evaluation.fold(petition_id, events[:1], PLACES.get)
        for event in events[1:]:
            facts = evaluation.fold_in(petition_id, facts, event, log=log_not_read,
                                       places_of=PLACES.get)
        assert facts == expected


def log_not_read():
    raise AssertionError("an event that follows the facts is folded in alone")


def test_a_late_or_redelivered_event_folds_the_whole_log_again():
    p2 = sorted(known_history().of("P2"), key=lambda e: (e["time"], e["id"]))
    late = next(e for e in p2 if e["type"] == "petition.acknowledged.v1")
    facts = evaluation.fold("P2", [e for e in p2 if e is not late], PLACES.get)
    read = []

    def log():
        read.append(True)
        return p2

    assert evaluation.fold_in("P2", facts, late, log, PLACES.get) == evaluation.fold(
        "P2", p2, PLACES.get)
    assert evaluation.fold_in("P2", facts, p2[-1], log, PLACES.get)["events"] == len(p2)
    assert read == [True, True]


def test_a_petition_counts_in_the_places_its_dispatch_named():
    history = History()
    history.dispatched(0, "P1", 1, "team-a")
    history.events[0]["data"]["places_above"] = ["w9", "c9", "sd9", "d9"]

    def registry_not_asked(grid):
        raise AssertionError("the dispatch named its places")

    facts = evaluation.fold("P1", history.events, registry_not_asked)
    assert facts["places"] == ["g01", "w9", "c9", "sd9", "d9"]


def test_a_dispatch_sent_before_dispatches_named_places_is_placed_by_the_registry():
    facts = facts_of(known_history())[0]
    assert facts["places"] == ["g01", "w1", "c1", "sd1", "d1"]


def test_gauges_count_grids_and_communities_by_petition_and_departments_by_round():
    found = evaluation.rates_by_subject(facts_of(known_history()))
    assert found["community", "c1"]["dispatched"] == 4
    assert found["grid", "g02"]["dispatched"] == 1
    assert (found["department", "housing"]["dispatched"],
            found["department", "roads"]["dispatched"]) == (4, 2)


def test_the_month_tally_kept_by_changes_counts_what_a_whole_read_counts():
    history = known_history()
    final = facts_of(history)
    earlier = [evaluation.fold(f["_id"], [e for e in history.of(f["_id"])
                                          if e["time"] <= at(30)], PLACES.get) for f in final]
    month = evaluation.MonthTally()
    month.read_whole([f for f in earlier if f["month"]], NOVEMBER)
    month.changed(final, NOVEMBER + timedelta(minutes=1))
    month.changed(final, NOVEMBER + timedelta(minutes=2))  # read again: counted once
    assert month.rates() == evaluation.rates_by_subject(final)


def test_the_month_tally_counts_only_its_own_month():
    month = evaluation.MonthTally()
    month.read_whole(facts_of(known_history()), NOVEMBER)
    december = {**facts_of(known_history())[0], "_id": "P9", "month": "2026-12"}
    month.changed([december], NOVEMBER + timedelta(minutes=1))
    assert month.rates() == evaluation.rates_by_subject(facts_of(known_history()))


def test_the_month_tally_reads_the_minutes_since_its_last_read_and_the_month_whole_hourly():
    month = evaluation.MonthTally()
    assert month.minutes_to_read(NOVEMBER) is None  # never read
    month.read_whole([], NOVEMBER)
    assert month.minutes_to_read(NOVEMBER + timedelta(seconds=90)) == [
        "2026-11-03T01:58", "2026-11-03T01:59", "2026-11-03T02:00", "2026-11-03T02:01"]
    assert month.minutes_to_read(NOVEMBER + timedelta(hours=1)) is None
    assert month.minutes_to_read(datetime(2026, 11, 30, 16, 30, tzinfo=UTC)) is None  # December


NOVEMBER = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
