"""Within its role, each caller reaches only its own grids, petitions, person and money;
nothing about the rest leaks through errors, counts or pages. The callers sign in as
the demo city's accounts, so their scope comes from the registry."""

import pytest

from tests.e2e.test_petition_flow import DRAIN, raise_petition
from tools import demo_city

HEXI_GRIDS = [g["id"] for g in demo_city.registry()["grids"] if g["workstation_id"] in
              {w["id"] for w in demo_city.registry()["workstations"]
               if w["community_id"] == "c-hexi"}]
OTHER_GRID = next(g["id"] for g in demo_city.registry()["grids"] if g["id"] not in HEXI_GRIDS)


@pytest.fixture(scope="module")
def signed_in(platform, api):
    def sign_in(username):
        answer = api("grid").post("/auth/token", headers={"Authorization": ""}, json={
            "grant_type": "password", "username": username,
            "password": demo_city.DEMO_PASSWORD})
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}
    return sign_in


def test_grid_staff_see_their_grids_petitions_and_not_one_of_another_grid(api, signed_in):
    staff = signed_in("staff-g01")
    ours, theirs = raise_petition(api, grid=1), raise_petition(api, grid=2)
    assert api("petition").get(f"/staff/petitions/{ours}", headers=staff).status_code == 200
    refused = api("petition").get(f"/staff/petitions/{theirs}", headers=staff)
    assert refused.status_code == 403 and "g02" not in refused.text
    assert api("petition").get("/staff/petitions?grid_id=g02", headers=staff).status_code == 403
    assert api("petition").post(f"/petitions/{theirs}/escalate", headers=staff, json={
        "actor": "g01-grid_leader", "reason": "not mine to chase"}).status_code == 403


def test_a_staff_query_counts_and_pages_only_the_callers_grids(api, signed_in):
    staff = signed_in("staff-g01")
    raise_petition(api, grid=2)
    seen, cursor = [], None
    while True:
        page = api("petition").get("/staff/petitions", headers=staff,
                                   params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        seen += page.json()["petitions"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen and {p["grid_id"] for p in seen} == {"g01"}
    everything = api("petition").get("/staff/petitions", params={"limit": 200}).json()
    assert len(seen) == sum(1 for p in everything["petitions"] if p["grid_id"] == "g01")


def test_a_dispatcher_reaches_every_grid_of_their_area_and_no_other(api, signed_in):
    assert api("grid").put("/users/dispatcher-hexi", json={
        "name": "Hexi dispatcher", "role": "dispatcher", "area_id": "c-hexi",
        "password": demo_city.DEMO_PASSWORD}).status_code == 200
    dispatcher = signed_in("dispatcher-hexi")
    inside = raise_petition(api, grid=int(HEXI_GRIDS[-1][1:]))
    outside = raise_petition(api, grid=int(OTHER_GRID[1:]))
    assert api("petition").get(f"/staff/petitions/{inside}",
                               headers=dispatcher).status_code == 200
    assert api("petition").get(f"/staff/petitions/{outside}",
                               headers=dispatcher).status_code == 403
    assert api("petition").get(f"/staff/petitions?grid_id={OTHER_GRID}",
                               headers=dispatcher).status_code == 403


def test_a_resident_follows_their_own_petition_and_not_anothers(api, signed_in):
    resident = signed_in("resident")
    spot = demo_city.point_in(3, 0.4, 0.6)
    mine = api("petition").post("/petitions", headers=resident, json={
        **DRAIN, "location": {**spot, "address": "Building 9"}}).json()["id"]
    someone_elses = raise_petition(api, grid=3)
    assert api("petition").get(f"/petitions/{mine}/timeline", headers=resident).status_code == 200
    assert api("petition").get(f"/petitions/{someone_elses}/timeline",
                               headers=resident).status_code == 403
    assert api("petition").post(f"/petitions/{someone_elses}/follow-up", headers=resident,
                                json={"actor": "resident", "rating": 1}).status_code == 403
    assert api("petition").post(f"/petitions/{mine}/resolve", headers=resident, json={
        "actor": "resident", "reason": "I say so"}).status_code == 403


def test_a_volunteer_acts_as_themselves_only(api, signed_in):
    volunteer = signed_in("volunteer")
    me, _ = next(iter(demo_city.volunteers()))
    other = list(demo_city.volunteers())[1][0]
    assert api("volunteer").get(f"/bank/members/{me}", headers=volunteer).status_code == 200
    assert api("volunteer").get(f"/bank/members/{other}", headers=volunteer).status_code == 403
    assert api("volunteer").post("/bank/donations", headers=volunteer, json={
        "request_id": "d-scope", "from_volunteer_id": other, "to_volunteer_id": me,
        "hours": 1}).status_code == 403
    assert api("volunteer").get(f"/tasks?volunteer_id={other}", headers=volunteer).status_code == 403


def test_a_department_sees_its_own_money_only(api, signed_in):
    officer = signed_in("housing-officer")
    assert api("funding").get("/departments/housing/notices", headers=officer).status_code == 200
    assert api("funding").get("/departments/civil_affairs/notices",
                              headers=officer).status_code == 403
    statement = api("funding").get("/statements", headers=officer)
    assert statement.status_code == 200
    assert api("funding").get("/statements?department_id=civil_affairs",
                              headers=officer).status_code == 403
    assert api("funding").post("/allocations", headers=officer, json={}).status_code == 403


def test_the_auditor_reads_everything_and_changes_nothing(api, signed_in):
    auditor = signed_in("auditor")
    petition_id = raise_petition(api, grid=5)
    assert api("petition").get(f"/staff/petitions/{petition_id}",
                               headers=auditor).json()["reporter"]["phone"] == "138****0000"
    assert api("funding").get("/reconciliation", headers=auditor).status_code == 200
    assert api("petition").post(f"/petitions/{petition_id}/escalate", headers=auditor, json={
        "actor": "auditor", "reason": "a look"}).status_code == 403
