"""Target-responsibility contracts (目标管理责任状) and the five-goods scorecard (五个好) of
community c1, judged on the known history of tests/unit/test_evaluation.py; every figure
below is counted by hand on the default calendar (Monday to Friday, 09:00-12:00 and
13:30-17:30 in Shanghai: a working day is 7 working hours).

The history in local time: P1, P2 and P3 are dispatched on Monday 2 November, P4 on
Tuesday 10 November; P3 (due Thursday 5 November 11:00) is never handled; P4 is resolved,
then overturned by a spot check on Saturday 14 November and dispatched again."""

from services.grid import assessment, evaluation
from services.grid.calendar import WorkCalendar
from tests.unit.test_evaluation import PLACES, History, at, known_history

CALENDAR = WorkCalendar()
CONTRACT = {"resolution_rate": 0.9, "satisfaction_rate": 0.9, "response_rate": 0.49,
            "max_overdue_working_days": 5}


def moment(hours):
    return assessment._time(at(hours))


def facts_at(history, hours, petitions=("P1", "P2", "P3", "P4")):
    """The community's facts for 2026 as they stood ``hours`` after the history began."""
    stored = [evaluation.fold(p, history.of(p), PLACES.get) for p in petitions]
    return [assessment.as_at(f, history.of(f["_id"]), moment(hours))
            for f in assessment.dispatched_in(stored, 2026, moment(hours))]


def by_target(report):
    return {t["target"]: t for t in report}


# Working days overdue

def weekend_history(resolved=True):
    """R1 is dispatched Tuesday 17:00 and due Friday 17:00; resolved Monday 17:00."""
    h = History()
    h.dispatched(32, "R1", 1, "team-a")
    if resolved:
        h.add("petition.resolved.v1", 176, "R1", round=1)
    return h


def overdue(history, petition_id, hours):
    [facts] = facts_at(history, hours, (petition_id,))
    return assessment.overdue_rounds(facts, moment(hours), CALENDAR)


def test_a_weekend_does_not_count_toward_working_days_overdue():
    # Friday 17:00-17:30 (0.5 h) + Monday 09:00-12:00 (3 h) and 13:30-17:00 (3.5 h) = 7 h.
    [round_] = overdue(weekend_history(), "R1", 200)
    assert round_["overdue_working_days"] == 1.0 and not round_["running"]


def test_an_unresolved_round_runs_overdue_until_the_report_date():
    # Friday 17:00-17:30 + Monday 09:00-12:00 = 3.5 h by Monday noon: half a working day.
    [round_] = overdue(weekend_history(resolved=False), "R1", 171)
    assert round_["overdue_working_days"] == 0.5 and round_["running"]


def test_a_round_handed_on_stops_running_when_the_next_round_begins():
    # P2's first round was reopened at hour 21 and P2 went to team B at hour 22.
    rounds = assessment.overdue_rounds(facts_at(known_history(), 384)[1], moment(384), CALENDAR)
    assert [(r["round"], r["ended_at"], r["overdue_working_days"]) for r in rounds] == [
        (1, at(20), 0.0), (2, at(40), 0.0)]


# Contracts

def test_progress_compares_each_target_with_the_year_to_date_figure():
    report = by_target(assessment.progress(CONTRACT, facts_at(known_history(), 384),
                                           moment(384), CALENDAR))
    # 2 of 4 petitions resolved (P4 was overturned); 3 of 3 rated satisfied.
    assert (report["resolution_rate"]["actual"], report["resolution_rate"]["status"],
            report["resolution_rate"]["counts"]) == (0.5, "not_met",
                                                     {"resolved": 2, "dispatched": 4})
    assert (report["satisfaction_rate"]["actual"], report["satisfaction_rate"]["status"]) == (
        1.0, "met")
    # 2 of 4 acknowledged in time: above 0.49, but within two points of it.
    assert (report["response_rate"]["actual"], report["response_rate"]["status"]) == (
        0.5, "at_risk")


def test_an_order_overdue_beyond_the_limit_breaks_the_contract():
    # P3 was due Thursday 5 November 11:00; by Wednesday 18 November 09:00 it has run
    # 5 h + 7 h (Fri) + 35 h (Mon-Fri) + 14 h (Mon, Tue) = 61 h = 8.71 working days.
    report = by_target(assessment.progress(CONTRACT, facts_at(known_history(), 384),
                                           moment(384), CALENDAR))
    overdue_ = report["max_overdue_working_days"]
    assert (overdue_["actual"], overdue_["status"], overdue_["worst"]) == (
        8.71, "not_met", {"petition_id": "P3", "round": 1, "overdue_working_days": 8.71})
    assert overdue_["counts"] == {"rounds": 6, "overdue": 1, "beyond_limit": 1,
                                  "running_late": 1}


def test_an_order_running_late_within_the_limit_puts_the_contract_at_risk():
    # Friday 6 November 13:00: P3 has run Thursday 11:00-12:00, 13:30-17:30 and Friday
    # 09:00-12:00 past its due time = 8 h = 1.14 working days.
    report = by_target(assessment.progress(CONTRACT, facts_at(known_history(), 100),
                                           moment(100), CALENDAR))
    assert (report["max_overdue_working_days"]["actual"],
            report["max_overdue_working_days"]["status"]) == (1.14, "at_risk")


def test_a_report_at_an_earlier_date_reads_only_what_was_known_then():
    # At hour 250 P4 was resolved and not yet overturned (hour 300): 3 of 4 resolved.
    report = by_target(assessment.progress(CONTRACT, facts_at(known_history(), 250),
                                           moment(250), CALENDAR))
    assert report["resolution_rate"]["counts"] == {"resolved": 3, "dispatched": 4}
    # Before P4 was dispatched, only three petitions count.
    early = by_target(assessment.progress(CONTRACT, facts_at(known_history(), 100),
                                          moment(100), CALENDAR))
    assert early["resolution_rate"]["counts"] == {"resolved": 2, "dispatched": 3}


def test_targets_the_contract_leaves_out_are_not_reported():
    report = assessment.progress({"satisfaction_rate": 0.9}, facts_at(known_history(), 384),
                                 moment(384), CALENDAR)
    assert [t["target"] for t in report] == ["satisfaction_rate"]


def test_a_year_with_nothing_dispatched_has_no_data_rather_than_a_failure():
    report = assessment.progress(CONTRACT, [], moment(384), CALENDAR)
    assert {t["status"] for t in report} == {"no_data"}


# The five-goods scorecard

REPORTED = ["v1", "v2"]  # party members reported to c1 (报到)
WORK = [{"petition_id": "P1", "volunteer_id": "v1", "hours": 2.0},
        {"petition_id": "P2", "volunteer_id": "v3", "hours": 3.0}]
LEADERSHIP = {"score": 80.0, "note": "Monthly branch meetings held", "assessor": "org office",
              "recorded_at": "2026-11-20T02:00:00+00:00", "recorded_by": "admin"}


def measured(history=None, hours=384):
    return assessment.measured_dimensions(facts_at(history or known_history(), hours),
                                          moment(hours), CALENDAR, REPORTED, WORK)


def test_results_are_the_mean_of_resolution_and_finishing_on_time():
    # 2 of 4 resolved; both (P1, P2) with no round overdue: 100 x mean(0.5, 0.5).
    results = measured()["results"]
    assert results["score"] == 50.0
    assert results["how"] == (
        "results = 100 x mean(resolution rate 0.5, finished on time 0.5) = 50.0, where 2 of 4 "
        "petitions resolved; 2 of 4 petitions resolved with no round overdue.")


def test_public_feedback_weighs_satisfaction_against_reopenings_and_overturns():
    # 3 of 3 satisfied; P2 and P4 reopened (2 of 4); P4 overturned (1 of 4):
    # 100 x mean(1.0, 0.5, 0.75) = 75.
    feedback = measured()["feedback"]
    assert feedback["score"] == 75.0
    assert feedback["inputs"] == {"petitions": 4, "rated": 3, "satisfied": 3, "reopened": 2,
                                  "overturned": 1}


def test_mechanisms_without_returns_count_the_response_rate_alone_and_say_so():
    mechanisms = measured()["mechanisms"]
    assert mechanisms["score"] == 50.0
    assert "Left out, nothing to count: returns handled (0 of 0 returned rounds" \
        in mechanisms["how"]


def test_a_return_is_handled_well_when_the_order_is_dispatched_again_and_resolved():
    h = History()
    for petition_id in ("Q1", "Q2"):
        h.dispatched(0, petition_id, 1, "team-b")
        h.add("petition.returned.v1", 1, petition_id, round=2)
        h.dispatched(2, petition_id, 2, "team-a")
    h.add("petition.resolved.v1", 10, "Q1", round=2)
    found = assessment.measured_dimensions(facts_at(h, 100, ("Q1", "Q2")), moment(100),
                                           CALENDAR, [], [])
    # Neither acknowledged in time (0 of 2); Q1's return was resolved, Q2's not (1 of 2).
    assert found["mechanisms"]["score"] == 25.0
    assert found["mechanisms"]["inputs"]["returns_handled"] == 1


def test_cadres_count_active_party_members_and_work_done_by_volunteers():
    # v1 of the two reported members worked on c1's petitions (1 of 2); both resolved
    # petitions had volunteer work (2 of 2): 100 x mean(0.5, 1.0) = 75.
    cadres = measured()["cadres"]
    assert cadres["score"] == 75.0
    assert cadres["inputs"] == {"party_members_reported": 2, "party_members_active": 1,
                                "volunteers": 2, "volunteer_hours": 5.0, "resolved": 2,
                                "resolved_with_volunteers": 2}


def test_leadership_is_scored_by_hand_and_the_total_weighs_all_five_dimensions():
    card = assessment.scorecard(measured(), {"leadership": LEADERSHIP},
                                assessment.DEFAULT_WEIGHTS)
    scores = {d["dimension"]: (d["score"], d["source"]) for d in card["dimensions"]}
    assert scores == {"leadership": (80.0, "manual"), "cadres": (75.0, "data"),
                      "mechanisms": (50.0, "data"), "results": (50.0, "data"),
                      "feedback": (75.0, "data")}
    # (80 + 75 + 50 + 50 + 75) / 5
    assert card["total"]["score"] == 66.0 and card["total"]["complete"]


def test_a_manual_assessment_of_a_measured_dimension_is_shown_beside_it_not_counted():
    manual = {**LEADERSHIP, "score": 90.0}
    card = assessment.scorecard(measured(), {"results": manual}, assessment.DEFAULT_WEIGHTS)
    results = next(d for d in card["dimensions"] if d["dimension"] == "results")
    assert (results["score"], results["source"], results["manual"]["score"]) == (
        50.0, "data", 90.0)
    assert "shown beside it; the computed score counts" in results["how"]


def test_a_dimension_without_a_score_is_left_out_of_the_total_which_is_marked_incomplete():
    card = assessment.scorecard(measured(), {}, assessment.DEFAULT_WEIGHTS)
    # (75 + 50 + 50 + 75) / 4
    assert card["total"] == {
        "score": 62.5, "complete": False, "missing": ["leadership"],
        "how": "total = (1 x cadres 75.0 + 1 x mechanisms 50.0 + 1 x results 50.0 + "
               "1 x feedback 75.0) / 4 = 62.5. Left out, no score yet: leadership."}


def test_weights_change_each_dimensions_share_of_the_total():
    weights = {**assessment.DEFAULT_WEIGHTS, "leadership": 2.0}
    card = assessment.scorecard(measured(), {"leadership": LEADERSHIP}, weights)
    # (2 x 80 + 75 + 50 + 50 + 75) / 6 = 68.33
    assert card["total"]["score"] == 68.3
