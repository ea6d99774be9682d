"""The volunteer service on the real broker and database, the test playing the grid and
petition services: fair claims under concurrency, eligibility, lapses, verification,
cancellation, butler teams from the registry, and party members reporting."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from services.volunteer.service import VolunteerService
from shared.catalogue import CATALOGUE
from shared.events import new_event, now
from tests.conftest import poll

FUNDING = {"department_id": "housing", "budget_line": "public_infrastructure",
           "fiscal_year": 2026, "estimate_fen": 30_000, "centre_id": "centre-c-hexi"}
BUTLERS = {"grid_leader": [{"id": "g01-leader", "name": "Li Ming"}],
           "grid_cleaner": [{"id": "g01-cleaner", "name": "Wu Fang"}]}


def publish(broker, type, subject, **data):
    broker.publish_event(new_event(CATALOGUE, type, CATALOGUE.producer_of(type), subject, data, "c"))


@pytest.fixture
def volunteers(serve, broker):
    """The service with grid g01's butler team and a plumbing team of ten."""
    def start(**settings):
        api = serve(VolunteerService, VOLUNTEER_SWEEP_SECONDS=0.3, **settings)
        publish(broker, "grid.registered.v1", "g01", grid_id="g01", name="Hexi 1",
                community_id="c-hexi", community_type="industrial", workstation_id="ws-1",
                households=230, population=550, revision=1, butler_team=BUTLERS)
        poll(lambda: api.get("/volunteers/g01-leader").status_code == 200, what="the butler team")
        for n in range(1, 11):
            body = {"name": f"Plumber {n}", "skills": ["plumbing", "electrics"], "home_grid_id": "g01",
                    "community_id": "c-hexi", "party_member": n <= 3,
                    "qualifications": [{"kind": "electrician", "valid_until": "2030-01-01"}]
                    if n % 2 else []}
            assert api.put(f"/volunteers/p{n}", json=body).status_code == 200
        team = {"name": "Plumbers", "leader_id": "p1", "members": [f"p{n}" for n in range(1, 11)],
                "skills": ["plumbing", "electrics"]}
        assert api.put("/teams/team-plumbers", json=team).status_code == 200
        return api

    return start


def dispatch(broker, petition_id, places=1, team="team-plumbers", skill=None, role=None):
    handler = {"kind": "butler_team" if team.startswith("butler") else "volunteer_team",
               "team_id": team, "name": team, "skill": skill, "role": role}
    publish(broker, "petition.dispatched.v1", petition_id, petition_id=petition_id, grid_id="g01",
            community_id="c-hexi", category="drains", round=1, rule_id="r", handler=handler,
            funding=FUNDING, acknowledge_by=now() + timedelta(hours=2),
            due_by=now() + timedelta(days=3), places=places)
    return f"T-{petition_id}-1"


def task_of(api, task_id):
    return poll(lambda: (r := api.get(f"/tasks/{task_id}")).status_code == 200 and r.json(),
                what=f"task {task_id}")


def claim(api, task_id, volunteer_id):
    return api.post(f"/tasks/{task_id}/claim", json={"volunteer_id": volunteer_id})


def test_many_claiming_the_last_places_at_once_never_overfill_them(volunteers, broker):
    api = volunteers()
    task_id = dispatch(broker, "P-race", places=2)
    task_of(api, task_id)
    with ThreadPoolExecutor(10) as pool:
        codes = list(pool.map(lambda n: claim(api, task_id, f"p{n}").status_code, range(1, 11)))
    assert sorted(codes) == [200, 200] + [409] * 8
    task = api.get(f"/tasks/{task_id}").json()
    assert task["status"] == "claimed" and len([c for c in task["claims"]
                                                if c["state"] == "active"]) == 2


def test_a_volunteer_never_holds_more_open_tasks_than_allowed_even_at_once(volunteers, broker):
    api = volunteers(VOLUNTEER_MAX_OPEN_TASKS=3)
    tasks = [dispatch(broker, f"P-cap-{n}") for n in range(5)]
    for task_id in tasks:
        task_of(api, task_id)
    with ThreadPoolExecutor(5) as pool:
        codes = list(pool.map(lambda t: claim(api, t, "p2").status_code, tasks))
    assert sorted(codes) == [200, 200, 200, 409, 409]
    assert api.get("/volunteers/p2").json()["open_claims"] == 3


def test_only_eligible_volunteers_see_and_claim_a_task(volunteers, broker):
    api = volunteers()
    task_id = dispatch(broker, "P-wires", skill="electrics")
    assert task_of(api, task_id)["qualification"] == "electrician"
    seen = [t["id"] for t in api.get("/tasks", params={"volunteer_id": "p1"}).json()["tasks"]]
    assert task_id in seen  # p1 holds a valid electrician's qualification
    assert task_id not in [t["id"] for t in api.get(
        "/tasks", params={"volunteer_id": "p2"}).json()["tasks"]]
    refused = claim(api, task_id, "p2")
    assert refused.status_code == 403 and "electrician" in refused.json()["error"]["message"]
    role_task = dispatch(broker, "P-sweep", team="butler-g01", role="grid_cleaner")
    task_of(api, role_task)
    assert claim(api, role_task, "g01-leader").status_code == 403
    assert claim(api, role_task, "g01-cleaner").status_code == 200


def test_a_claim_with_no_progress_lapses_and_the_team_leader_is_told(volunteers, broker):
    api = volunteers(VOLUNTEER_PROGRESS_HOURS=0.0003)  # about a second
    task_id = dispatch(broker, "P-stall")
    task_of(api, task_id)
    assert claim(api, task_id, "p4").status_code == 200
    notices = poll(lambda: api.get("/teams/team-plumbers/notices").json()["notices"],
                   what="the team leader's notice")
    assert notices[0]["to"] == "p1" and "p4" in notices[0]["text"]
    assert api.get(f"/tasks/{task_id}").json()["status"] == "open"
    poll(lambda: api.get("/volunteers/p4").json()["open_claims"] == 0, what="the slot back")


def test_work_is_verified_by_the_grid_leader_or_sent_back_with_a_reason(volunteers, broker):
    api = volunteers()
    task_id = dispatch(broker, "P-fix")
    task_of(api, task_id)
    assert claim(api, task_id, "p5").status_code == 200
    assert api.post(f"/tasks/{task_id}/progress", json={
        "volunteer_id": "p5", "note": "Bought a new grate"}).status_code == 200
    report = {"volunteer_id": "p5", "hours": 2, "cost_fen": 4_500, "notes": "Replaced the grate",
              "evidence": [{"url": "https://photos.example.cn/grate.jpg"}]}
    missing = api.post("/tasks/T-P-nothing-1/complete", json=report)
    assert missing.status_code == 404 and "GET /tasks?team_id=" in missing.json()["error"]["message"]
    assert api.post(f"/tasks/{task_id}/complete", json=report).json()["status"] == "submitted"
    assert api.post(f"/tasks/{task_id}/verify", json={
        "verifier_id": "p1", "approved": True}).status_code == 403
    declined = api.post(f"/tasks/{task_id}/verify", json={
        "verifier_id": "g01-leader", "approved": False, "reason": "Grate is loose"})
    assert declined.json()["status"] == "claimed"
    assert api.post(f"/tasks/{task_id}/complete", json=report).status_code == 200
    verified = api.post(f"/tasks/{task_id}/verify", json={"verifier_id": "g01-leader",
                                                          "approved": True})
    assert verified.json()["status"] == "completed"
    assert [v["approved"] for v in verified.json()["verifications"]] == [False, True]
    # The verified hours are deposited in the morality bank, once.
    statement = poll(lambda: (r := api.get("/bank/members/p5").json())["balance_minutes"] and r,
                     what="the deposit")
    assert statement["balance_hours"] == 2.0 and len(statement["lines"]) == 1
    assert all(total == 0 for total in api.get("/bank/trial-balance").json().values())


def test_party_members_earn_points_and_hours_can_be_given_and_spent_but_never_overdrawn(
        volunteers, broker):
    api = volunteers()
    task_id = dispatch(broker, "P-points")
    task_of(api, task_id)
    claim(api, task_id, "p2")  # a party member
    api.post(f"/tasks/{task_id}/complete", json={"volunteer_id": "p2", "hours": 3, "cost_fen": 0})
    api.post(f"/tasks/{task_id}/verify", json={"verifier_id": "g01-leader", "approved": True})
    points = poll(lambda: api.get("/bank/members/p2", params={"unit": "points"}).json()
                  ["balance_points"], what="the points")
    assert points == 30  # 10 a hour by default
    gift = {"request_id": "gift-1", "from_volunteer_id": "p2", "to_volunteer_id": "p8",
            "hours": 1.5, "memo": "for the night patrol"}
    assert api.post("/bank/donations", json=gift).status_code == 201
    assert api.post("/bank/donations", json=gift).status_code == 409  # never twice
    too_much = api.post("/bank/donations", json={**gift, "request_id": "gift-2", "hours": 2})
    assert too_much.status_code == 409 and "hours in the bank" in too_much.json()["error"]["message"]
    assert api.put("/bank/catalogue/haircut", json={"name": "A haircut at the community centre",
                                                    "price_hours": 0.5}).status_code == 200
    spent = api.post("/bank/redemptions", json={"request_id": "r-1", "volunteer_id": "p8",
                                                "item_id": "haircut", "quantity": 2})
    assert spent.status_code == 201
    assert api.get("/bank/members/p8").json()["balance_hours"] == 0.5
    assert api.get("/bank/members/p2").json()["balance_hours"] == 1.5
    leaders = api.get("/bank/leaderboard", params={"community_id": "c-hexi"}).json()["leaders"]
    assert leaders[0]["volunteer_id"] == "p2"
    assert all(total == 0 for total in api.get("/bank/trial-balance").json().values())


def test_the_residents_confirmation_through_the_petition_verifies_the_work(volunteers, broker):
    api = volunteers()
    task_id = dispatch(broker, "P-confirm")
    task_of(api, task_id)
    claim(api, task_id, "p6")
    api.post(f"/tasks/{task_id}/complete", json={"volunteer_id": "p6", "hours": 1, "cost_fen": 0})
    publish(broker, "petition.work_confirmed.v1", "P-confirm", petition_id="P-confirm", round=1,
            actor="resident")
    done = poll(lambda: (t := api.get(f"/tasks/{task_id}").json())["status"] == "completed" and t,
                what="the confirmation")
    assert done["verifications"][-1]["verifier_id"] == "resident"


def test_a_returned_petition_withdraws_its_task_and_frees_the_claims(volunteers, broker):
    api = volunteers()
    task_id = dispatch(broker, "P-back")
    task_of(api, task_id)
    claim(api, task_id, "p7")
    publish(broker, "petition.returned.v1", "P-back", petition_id="P-back", grid_id="g01",
            community_id="c-hexi", category="drains", location={"lat": 30.0, "lng": 120.0},
            round=2, actor="p7", reason="not ours", previous_handler=None,
            return_reason="not_our_duty")
    poll(lambda: api.get(f"/tasks/{task_id}").json()["status"] == "cancelled", what="the cancel")
    poll(lambda: api.get("/volunteers/p7").json()["open_claims"] == 0, what="the slot back")


def test_party_members_report_to_the_community_and_are_counted(volunteers):
    api = volunteers()
    assert api.post("/volunteers/p1/reports", json={"community_id": "c-hexi"}).status_code == 201
    assert api.post("/volunteers/p2/reports", json={"community_id": "c-hexi"}).status_code == 201
    assert api.post("/volunteers/p9/reports", json={"community_id": "c-hexi"}).status_code == 403
    figures = api.get("/communities/c-hexi/figures").json()
    assert figures["volunteers"] == 10 and figures["party_members"] == 3
    assert figures["party_members_reported"] == 2


def test_a_team_must_name_registered_volunteers_and_a_leader_among_them(volunteers):
    api = volunteers()
    bad = api.put("/teams/team-x", json={"name": "X", "leader_id": "nobody",
                                         "members": ["p1", "ghost"]})
    assert bad.status_code == 422
    assert set(bad.json()["error"]["fields"]) == {"members", "leader_id"}
