"""Bad input gets a 4xx that says what to fix, field by field; nothing is half-stored."""

import pytest

from tests.e2e.test_petition_flow import DRAIN


@pytest.fixture
def petitions_stored(service_db):
    return lambda: service_db("petition").petitions.count_documents({})


def error_of(response, status):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["message"]
    return error


def without(body, field):
    return {k: v for k, v in body.items() if k != field}


def test_missing_fields_are_each_named(api, petitions_stored):
    before = petitions_stored()
    body = without(without(DRAIN, "category"), "location")
    error = error_of(api("petition").post("/petitions", json=body), 422)
    assert error["code"] == "invalid_fields"
    assert set(error["fields"]) == {"category", "location"}
    assert petitions_stored() == before


def test_wrong_types_are_reported_per_field(api, petitions_stored):
    before = petitions_stored()
    body = dict(DRAIN, description=42, location={"lat": "north", "lng": 120.1})
    error = error_of(api("petition").post("/petitions", json=body), 422)
    assert "description" in error["fields"]
    assert "lat" in error["fields"]["location"]
    assert petitions_stored() == before


def test_unknown_category_lists_nothing_stored(api, petitions_stored):
    before = petitions_stored()
    error = error_of(api("petition").post("/petitions", json=dict(DRAIN, category="ufo")), 422)
    assert "category" in error["fields"]
    assert petitions_stored() == before


def test_unknown_grid_is_refused_with_where_to_find_one(api, petitions_stored):
    before = petitions_stored()
    error = error_of(api("petition").post("/petitions", json=dict(DRAIN, grid_id="g999")), 422)
    assert "GET /grids" in error["fields"]["grid_id"][0]
    assert petitions_stored() == before


def test_unknown_fields_are_refused(api, petitions_stored):
    before = petitions_stored()
    error = error_of(api("petition").post("/petitions", json=dict(DRAIN, priority="urgent")), 422)
    assert "priority" in error["fields"]
    assert petitions_stored() == before


def test_a_one_megabyte_body_is_refused_before_it_is_read(api, petitions_stored):
    before = petitions_stored()
    body = dict(DRAIN, description="x" * (1024 * 1024))
    error = error_of(api("petition").post("/petitions", json=body), 413)
    assert "by reference" in error["message"]
    assert petitions_stored() == before


def test_a_chunked_oversized_body_is_refused_too(api, petitions_stored):
    before = petitions_stored()

    def chunks():
        for _ in range(64):
            yield b"x" * 16384

    response = api("petition").post("/petitions", data=chunks(),
                                    headers={"Content-Type": "application/json"})
    error_of(response, 413)
    assert petitions_stored() == before


def test_a_body_that_is_not_json_is_refused(api, petitions_stored):
    before = petitions_stored()
    error = error_of(api("petition").post("/petitions", data="grid=g01&category=drains",
                                          headers={"Content-Type": "application/json"}), 400)
    assert error["code"] == "malformed_json"
    assert petitions_stored() == before


def test_json_that_is_not_an_object_is_refused(api, petitions_stored):
    error_of(api("petition").post("/petitions", json=[DRAIN]), 400)


def test_a_form_body_is_told_to_send_json(api, petitions_stored):
    before = petitions_stored()
    error = error_of(api("petition").post("/petitions", data={"grid_id": "g01"}), 415)
    assert "application/json" in error["message"]
    assert petitions_stored() == before


def test_an_anonymous_reporter_needs_no_name_but_a_named_one_does(api):
    anonymous = dict(DRAIN, reporter={"anonymous": True})
    assert api("petition").post("/petitions", json=anonymous).status_code == 201
    error = error_of(api("petition").post("/petitions", json=dict(DRAIN, reporter={})), 422)
    assert "name" in error["fields"]["reporter"]


def test_unknown_petitions_and_tasks_are_404_with_advice(api):
    assert "check the id" in error_of(api("petition").get("/petitions/P-nope"), 404)["message"]
    assert "GET /tasks" in error_of(api("volunteer").get("/tasks/T-nope"), 404)["message"]


def test_a_volunteer_outside_the_team_cannot_claim(api):
    from tests.conftest import poll
    from tests.e2e.test_petition_flow import raise_petition

    task_id = f"T-{raise_petition(api)}-1"
    poll(lambda: api("volunteer").get(f"/tasks/{task_id}").status_code == 200, what="the task")
    error = error_of(api("volunteer").post(f"/tasks/{task_id}/claim",
                                           json={"volunteer_id": "team-cleaning-1"}), 403)
    assert "not a member" in error["message"]
    assert api("volunteer").get(f"/tasks/{task_id}").json()["status"] == "open"


def test_bad_input_to_every_service_is_a_4xx(api):
    assert api("grid").put("/registry", json={"grids": "all"}).status_code == 422
    assert api("grid").put("/dispatch-rules", data="{", headers={
        "Content-Type": "application/json"}).status_code == 400
    assert api("volunteer").put("/teams/t1", json={"name": "x"}).status_code == 422
    assert api("funding").post("/allocations", json={"amount_fen": 1.5}).status_code == 422


def test_a_repeated_allocation_moves_money_once_and_a_changed_one_is_refused(api):
    allocation = {"allocation_id": "test-topup-1", "department_id": "health",
                  "budget_line": "sanitation", "fiscal_year": 2026, "amount_fen": 500_000,
                  "approved_by": "county finance bureau"}
    assert api("funding").post("/allocations", json=allocation).status_code == 201
    assert api("funding").post("/allocations", json=allocation).status_code == 200
    balance = api("funding").get("/accounts/dept:health:sanitation:2026").json()["balance_fen"]
    assert balance == 500_000
    changed = dict(allocation, amount_fen=900_000)
    assert error_of(api("funding").post("/allocations", json=changed), 409)["message"]


@pytest.mark.parametrize("body, code", [
    ("[" * 20_000 + "]" * 20_000, "malformed_json"),
    ('{"a": ' * 100 + "1" + "}" * 100, "malformed_json"),
    ('{"amount_fen": NaN}', "malformed_json"),
    ('{"amount_fen": 1e400}', None),
    ('{"amount_fen": 100000000000000000000000000000}', "number_out_of_range"),
    ('{"description": "\\ud800 lone surrogate"}', "invalid_text"),
    ('{"description": "a NUL \\u0000 the database cannot store"}', "invalid_text"),
])
def test_hostile_json_is_a_4xx_for_every_service(api, body, code):
    for service, path in (("petition", "/petitions"), ("funding", "/allocations"),
                          ("volunteer", "/bank/donations"), ("grid", "/dispatch-rules")):
        method = "put" if service == "grid" else "post"
        response = getattr(api(service), method)(path, data=body, headers={
            "Content-Type": "application/json"})
        assert 400 <= response.status_code < 500, (service, response.text)
        if code:
            assert response.json()["error"]["code"] == code, (service, response.text)


def test_unicode_text_that_is_valid_is_kept_exactly(api):
    from tests.e2e.test_petition_flow import raise_petition
    text = "下水道堵了 🚰 — Ünïcödé, RTL \u202e, zero-width \u200b, combining e\u0301"
    petition_id = raise_petition(api, dict(DRAIN, description=text))
    assert api("petition").get(f"/petitions/{petition_id}").json()["description"] == text
