"""Assessment on the real broker and database: the known history (tests/unit/
test_evaluation.py) and the volunteer service's reports and completed work reach the grid
service as events; the contract's progress and the five-goods scorecard of community
c-hexi read through HTTP give the figures counted by hand in tests/unit/test_assessment.py."""

from shared.catalogue import CATALOGUE
from shared.events import new_event
from tests.conftest import poll
from tests.integration.test_evaluation import publish_history
from tests.integration.test_grid_service import grid  # noqa: F401 (a fixture)
from tests.unit.test_assessment import CONTRACT
from tests.unit.test_evaluation import at, known_history
from tools.auth import bearer

FUNDING = {"department_id": "housing", "budget_line": "public_infrastructure",
           "centre_id": "centre-hexi", "estimate_fen": 100, "fiscal_year": 2026}


def publish(broker, type, subject, when, **data):
    """``when``: hours after the history began."""
    event = new_event(CATALOGUE, type, "volunteer", subject, data, "assessment")
    broker.publish_event({**event, "time": at(when)})


def publish_volunteering(broker):
    """v1 and v2 report to c-hexi as party members; v1 works on P1, v3 (not a party
    member) on P2's second round."""
    for volunteer in ("v1", "v2"):
        publish(broker, "volunteer.reported.v1", f"report-{volunteer}", 0,
                report_id=f"report-{volunteer}", volunteer_id=volunteer, community_id="c-hexi")
    for petition_id, round, volunteer, worked in (("P1", 1, "v1", 2.0), ("P2", 2, "v3", 3.0)):
        publish(broker, "task.completed.v1", f"task-{petition_id}-{round}", 30,
                task_id=f"task-{petition_id}-{round}", petition_id=petition_id, round=round,
                team_id="team-a", volunteer_id=volunteer, hours=worked, cost_fen=0,
                funding=FUNDING, verified_by="leader")


def test_a_communitys_contract_and_scorecard_are_read_from_its_events_as_at_any_date(
        grid, broker, db_of):  # noqa: F811
    api = grid()
    history = known_history()
    publish_history(broker, history)
    publish_volunteering(broker)
    db = db_of("grid")
    poll(lambda: db.evaluation_events.count_documents({}) == len(history.events)
         and db.volunteer_work.count_documents({}) == 2
         and db.party_reports.count_documents({}) == 2, what="every event recorded")
    poll(lambda: api.get("/evaluation/figures", params={"kind": "handler", "id": "team-a"})
         .json()["dispatched"] == 4, what="the facts folded")

    # The sub-district and the community sign the year's contract.
    answer = api.put("/contracts/c-hexi/2026", json={
        "targets": CONTRACT, "signed_by": ["Xiaojianghu party committee", "Hexi community"],
        "signed_on": "2026-01-05"})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["revision"], answer.json()["signed_on"]) == (1, "2026-01-05")

    def progress(hours):
        answer = api.get("/contracts/c-hexi/2026/progress", params={"at": at(hours)})
        assert answer.status_code == 200, answer.text
        return {t["target"]: (t["actual"], t["status"]) for t in answer.json()["targets"]}

    # Wednesday 18 November: P3 has run 8.71 working days overdue; P4 was overturned.
    assert progress(384) == {"response_rate": (0.5, "at_risk"),
                             "resolution_rate": (0.5, "not_met"),
                             "satisfaction_rate": (1.0, "met"),
                             "max_overdue_working_days": (8.71, "not_met")}
    # Friday 6 November: three petitions, P3 1.14 working days late and still running.
    assert progress(100)["max_overdue_working_days"] == (1.14, "at_risk")
    assert progress(250)["resolution_rate"] == (0.75, "not_met")  # P4 not yet overturned

    # Leadership is assessed by hand; a manual view of results is shown, not counted.
    for dimension, score in (("leadership", 80), ("results", 90)):
        answer = api.put(f"/scorecards/c-hexi/2026/assessments/{dimension}", json={
            "score": score, "note": "Annual review", "assessor": "Organisation office"})
        assert answer.status_code == 200, answer.text
    card = api.get("/scorecards/c-hexi/2026", params={"at": at(384)}).json()
    assert {d["dimension"]: (d["score"], d["source"]) for d in card["dimensions"]} == {
        "leadership": (80.0, "manual"), "cadres": (75.0, "data"), "mechanisms": (50.0, "data"),
        "results": (50.0, "data"), "feedback": (75.0, "data")}
    results = next(d for d in card["dimensions"] if d["dimension"] == "results")
    assert results["manual"]["score"] == 90.0 and results["how"].startswith(
        "results = 100 x mean(resolution rate 0.5, finished on time 0.5) = 50.0")
    assert (card["total"]["score"], card["total"]["complete"]) == (66.0, True)

    weights = {"leadership": 2, "cadres": 1, "mechanisms": 1, "results": 1, "feedback": 1}
    assert api.put("/scorecard-weights", json=weights).status_code == 200
    card = api.get("/scorecards/c-hexi/2026", params={"at": at(384)}).json()
    assert card["total"]["score"] == 68.3


def test_only_those_who_see_the_whole_community_read_its_assessment(grid):  # noqa: F811
    api = grid()
    assert api.put("/contracts/c-hexi/2026", json={
        "targets": {"satisfaction_rate": 0.9}, "signed_by": ["Hexi"]}).status_code == 200
    auditor = bearer("auditor")
    one_grid = bearer("grid_staff", grids=["g01"], communities=["c-hexi"])
    assert api.get("/scorecards/c-hexi/2026", headers=auditor).status_code == 200
    assert api.get("/scorecards/c-hexi/2026", headers=one_grid).status_code == 403
    assert api.get("/contracts/c-hexi/2026/progress", headers=one_grid).status_code == 403
    answer = api.put("/scorecard-weights", headers=auditor, json={
        "leadership": 1, "cadres": 1, "mechanisms": 1, "results": 1, "feedback": 1})
    assert answer.status_code == 403


def test_contracts_and_assessments_are_refused_with_what_to_do(grid):  # noqa: F811
    api = grid()
    missing = api.get("/contracts/c-hexi/2025/progress")
    assert missing.status_code == 404 and "PUT /contracts/c-hexi/2025" in missing.text
    no_target = api.put("/contracts/c-hexi/2026", json={"targets": {}, "signed_by": ["Hexi"]})
    assert no_target.status_code == 422 and "at least one" in no_target.text
    not_a_community = api.put("/contracts/g01/2026", json={
        "targets": {"satisfaction_rate": 0.9}, "signed_by": ["Hexi"]})
    assert not_a_community.status_code == 404
    unknown = api.put("/scorecards/c-hexi/2026/assessments/luck", json={
        "score": 50, "note": "n", "assessor": "a"})
    assert unknown.status_code == 404 and "leadership" in unknown.text
