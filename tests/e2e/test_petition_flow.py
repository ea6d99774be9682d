"""A petition flows end to end: raised, accepted, dispatched, acknowledged, resolved and
paid for, verified by the resident's rating, closed; a return goes to another team.

Every service runs as its own process against the real RabbitMQ and the
Mongo-wire server; the test speaks only HTTP, then reads each service's own
database to see that each holds its part.
"""

import itertools
from datetime import date

import jsonschema_rs

from shared.asyncapi import event_schema
from shared.catalogue import CATALOGUE
from tests.conftest import poll
from tools import demo_city
from tools.platform import SERVICES

DRAIN = {
    "category": "drains", "attributes": {"severity": "overflowing"},
    "description": "The drain outside building 3 overflows when it rains.",
    "location": {"lat": 30.2741, "lng": 120.1551, "address": "Building 3, Hexi"},
    "channel": "kiosk",
    "reporter": {"name": "Wang Fang", "phone": "13800000000"},
}


SPOTS = itertools.count()


def raise_petition(api, body=DRAIN, grid=1):
    """A petition at a fresh spot in the grid, found from the point (the test platform
    flags duplicates only within 5 m; the spots are some 20 m apart)."""
    n = next(SPOTS)
    spot = demo_city.point_in(grid, 0.05 + n % 10 / 10, 0.05 + n // 10 % 10 / 10)
    response = api("petition").post("/petitions", json={
        **body, "location": {**spot, "address": body["location"]["address"]}})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def state_of(api, petition_id):
    return api("petition").get(f"/petitions/{petition_id}").json()["state"]


def staff(api, petition_id, command, **body):
    response = api("petition").post(f"/petitions/{petition_id}/{command}",
                                    json={"actor": "g01-grid_leader", **body})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_drain_petition_is_handled_paid_for_and_closed(api, service_db):
    year = date.today().year
    department = f"dept:housing:public_infrastructure:{year}"
    centre_before = api("funding").get("/accounts/centre-c-hexi").json()["balance_fen"]
    department_before = api("funding").get(f"/accounts/{department}").json()["balance_fen"]

    # A resident raises it at a kiosk; the answer is its id.
    petition_id = raise_petition(api)
    task_id = f"T-{petition_id}-1"

    # The dispatcher routes drains to the repairs team, and the team gets a task.
    task = poll(lambda: api("volunteer").get(f"/tasks/{task_id}").json().get("status") == "open"
                and api("volunteer").get(f"/tasks/{task_id}").json(), what="the task to open")
    assert task["team_id"] == "team-drain-repair"

    # A team member claims it and completes it with hours and cost.
    claimed = api("volunteer").post(f"/tasks/{task_id}/claim",
                                    json={"volunteer_id": "team-drain-repair-2"})
    assert claimed.status_code == 200, claimed.text
    completed = api("volunteer").post(f"/tasks/{task_id}/complete", json={
        "volunteer_id": "team-drain-repair-2", "hours": 2.5, "cost_fen": 28_000,
        "notes": "Cleared the blockage; replaced a cracked cover.",
        "evidence": [{"url": "https://photos.example.cn/drain-after.jpg"}]})
    assert completed.status_code == 200, completed.text
    assert completed.json()["status"] == "submitted"

    # It counts once the grid leader has verified it.
    verified = api("volunteer").post(f"/tasks/{task_id}/verify", json={
        "verifier_id": "g01-grid_leader", "approved": True})
    assert verified.status_code == 200, verified.text

    # The hours go into the morality bank; the work is resolved and funds follow the task (费随事转).
    poll(lambda: api("volunteer").get("/bank/members/team-drain-repair-2").json()
         ["balance_minutes"] >= 150, what="the hours deposited")
    poll(lambda: state_of(api, petition_id) == "resolved", what="the petition to be resolved")
    poll(lambda: api("funding").get("/transactions", params={"petition_id": petition_id})
         .json()["transactions"], what="the settlement")

    # The follow-up (回访): the resident is satisfied; staff close it.
    assert staff(api, petition_id, "follow-up", rating=5, actor="resident")["state"] == "verified"
    assert staff(api, petition_id, "close")["outcome"] == "satisfied"

    timeline = api("petition").get(f"/petitions/{petition_id}/timeline").json()["timeline"]
    types = [step["type"] for step in timeline]
    in_order = ["petition.raised.v1", "petition.accepted.v1", "petition.dispatched.v1",
                "task.opened.v1", "task.claimed.v1", "task.submitted.v1", "task.completed.v1",
                "petition.verified.v1", "petition.closed.v1"]
    assert [t for t in types if t in in_order] == in_order
    # The claim and the completion are the acknowledgement and the resolution: one line each.
    assert set(types) == {*in_order, "funds.held.v1", "funds.settled.v1"}
    assert types.index("funds.settled.v1") > types.index("task.completed.v1")
    assert all(step["event_id"] and step["at"] and step["actor"] for step in timeline)
    assert len({step["event_id"] for step in timeline}) == len(timeline)

    # The money moved exactly once, from the department's line to the centre.
    assert (api("funding").get("/accounts/centre-c-hexi").json()["balance_fen"]
            == centre_before + 28_000)
    assert (api("funding").get(f"/accounts/{department}").json()["balance_fen"]
            == department_before - 28_000)

    # Each service's own database holds its part, and only its part.
    petition = service_db("petition").petitions.find_one({"_id": petition_id})
    assert petition["state"] == "closed"
    assert "Wang" not in str(petition) and "13800" not in str(petition)  # sealed at rest
    dispatch = service_db("grid").dispatches.find_one({"_id": f"{petition_id}/1"})
    assert dispatch["handler"]["team_id"] == "team-drain-repair"
    assert dispatch["funding"]["department_id"] == "housing"
    task = service_db("volunteer").tasks.find_one({"_id": task_id})
    assert task["status"] == "completed" and task["hours_each"] == 2.5
    settlement = service_db("funding").transactions.find_one({"_id": f"capture:{petition_id}/1"})
    assert sum(p["amount_fen"] for p in settlement["postings"]) == 0
    # The cost to the centre, the 300-yuan hold spent, the 20 left over back to the line.
    assert {p["account"]: p["amount_fen"] for p in settlement["postings"]} == {
        "held:housing:public_infrastructure:" + str(year): -30_000, "centre-c-hexi": 28_000,
        department: 2_000}
    assert "petitions" not in service_db("grid").list_collection_names()
    assert "dispatches" not in service_db("petition").list_collection_names()

    # Every outbox was relayed.
    for service, collection in (("petition", "petitions"), ("grid", "dispatches"),
                                ("volunteer", "tasks"), ("funding", "transactions")):
        assert poll(lambda s=service, c=collection: service_db(s)[c].count_documents(
            {"outbox_pending": True}) == 0, what=f"{service}'s outbox to drain")


def test_public_views_never_show_the_reporter(api):
    petition_id = raise_petition(api)
    for path in (f"/petitions/{petition_id}", f"/petitions/{petition_id}/timeline"):
        text = api("petition").get(path).text
        assert "Wang Fang" not in text and "13800000000" not in text


def test_a_matter_no_rule_covers_goes_to_the_grids_butler_team(api):
    petition_id = raise_petition(api, dict(DRAIN, category="other", attributes={}), grid=17)
    task = poll(lambda: api("volunteer").get(f"/tasks/T-{petition_id}-1").json().get("team_id"),
                what="the task to open")
    assert task == "butler-g17"


def test_unpaid_work_is_resolved_with_no_money_moved(api):
    petition_id = raise_petition(api, dict(DRAIN, category="other", attributes={}))
    task_id = f"T-{petition_id}-1"
    poll(lambda: api("volunteer").get(f"/tasks/{task_id}").status_code == 200, what="the task")
    assert api("volunteer").post(f"/tasks/{task_id}/claim",
                                 json={"volunteer_id": "g01-grid_leader"}).status_code == 200
    assert api("volunteer").post(f"/tasks/{task_id}/complete", json={
        "volunteer_id": "g01-grid_leader", "hours": 1, "cost_fen": 0}).status_code == 200
    assert api("volunteer").post(f"/tasks/{task_id}/verify", json={
        "verifier_id": "g01-grid_leader", "approved": True}).status_code == 200
    poll(lambda: state_of(api, petition_id) == "resolved", what="the petition to be resolved")
    assert api("funding").get("/transactions", params={"petition_id": petition_id}).json() == {
        "transactions": []}


def test_returned_order_is_not_sent_back_to_the_same_team(api):
    petition_id = raise_petition(api)
    poll(lambda: state_of(api, petition_id) == "dispatched", what="the dispatch")
    staff(api, petition_id, "return", actor="team-drain-repair-1",
          reason="The blockage is in the main road's sewer: the housing bureau's",
          return_reason="needs_other_department")
    second = poll(lambda: api("volunteer").get(f"/tasks/T-{petition_id}-2").json().get("team_id"),
                  what="the task of the second round")
    assert second == "butler-g01"
    rounds = api("grid").get(f"/dispatches/{petition_id}").json()["rounds"]
    assert [r["handler"]["team_id"] for r in rounds] == ["team-drain-repair", "butler-g01"]
    assert rounds[1]["excluded"] == ["team-drain-repair"]
    assert [r["state"] for r in rounds] == ["superseded", "open"]
    assert {"rule_id": "drains", "handler": "Drains and repairs team", "outcome": "returned_it",
            "why": "this handler returned the order before"} in rounds[1]["explanation"]["considered"]
    poll(lambda: state_of(api, petition_id) == "dispatched", what="the re-dispatch")
    assert api("petition").get(f"/petitions/{petition_id}").json()["round"] == 2


def test_only_one_of_two_volunteers_claiming_at_once_wins(api):
    from concurrent.futures import ThreadPoolExecutor

    petition_id = raise_petition(api)
    task_id = f"T-{petition_id}-1"
    poll(lambda: api("volunteer").get(f"/tasks/{task_id}").status_code == 200, what="the task")
    claimers = [f"team-drain-repair-{n}" for n in range(1, 7)]
    with ThreadPoolExecutor(len(claimers)) as pool:
        codes = list(pool.map(lambda v: api("volunteer").post(
            f"/tasks/{task_id}/claim", json={"volunteer_id": v}).status_code, claimers))
    assert sorted(codes) == [200] + [409] * (len(claimers) - 1)


def test_every_service_reports_health_readiness_and_metrics(api):
    for service in ("grid", "petition", "volunteer", "funding"):
        assert api(service).get("/healthz").status_code == 200
        assert api(service).get("/readyz").json() == {
            "ready": True, "checks": {"broker": True, "database": True}}
        metrics = api(service).get("/metrics").text
        assert "http_requests_total" in metrics and "events_published_total" in metrics
    assert 'events_handled_total{handler="dispatch",outcome="handled",type="petition.accepted.v1"}' \
        in api("grid").get("/metrics").text


def test_a_department_handles_its_order_through_the_petition_and_the_dispatcher_sees_it(api):
    jobs = {**DRAIN, "category": "unemployment", "attributes": {},
            "description": "I lost my factory job and want training as an electrician."}
    petition_id = raise_petition(api, jobs, grid=30)
    poll(lambda: state_of(api, petition_id) == "dispatched", what="the dispatch")
    handler = api("petition").get(f"/petitions/{petition_id}").json()["handler"]
    assert handler == "County human resources and social security bureau"
    assert api("volunteer").get(f"/tasks/T-{petition_id}-1").status_code == 404  # no task
    staff(api, petition_id, "acknowledge", actor="hr-officer-1")
    staff(api, petition_id, "resolve", actor="hr-officer-1",
          reason="Enrolled on the county's electrician course")
    dispatch = poll(lambda: (r := api("grid").get(f"/dispatches/{petition_id}").json()["rounds"][0])
                    ["state"] == "resolved" and r, what="the dispatcher to stop its clocks")
    assert dispatch["handler"]["kind"] == "department" and dispatch["acknowledged_at"]


def test_every_event_the_platform_published_matches_its_published_schema(api, service_db):
    raise_petition(api)
    validators = {e.type: jsonschema_rs.validator_for(event_schema(e)) for e in CATALOGUE}
    published = [doc["event"] for service in SERVICES
                 for doc in service_db(service).published_events.find()]
    assert {e["type"] for e in published} >= {"petition.raised.v1", "grid.registered.v1"}
    wrong = [(e["type"], next(validators[e["type"]].iter_errors(e)).message)
             for e in published if not validators[e["type"]].is_valid(e)]
    assert not wrong
