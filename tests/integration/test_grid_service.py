"""The grid service on the real broker and database: the registry imported from files and
exported again, and the dispatcher balancing load, keeping its clocks, and handing an
order that keeps coming back to a person whose ruling is final. The test plays the
petition and volunteer services by publishing their events."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.grid.service import GridService
from shared.catalogue import CATALOGUE
from shared.events import new_event
from tests.conftest import poll
from tools import demo_city

ALWAYS_WORKING = {"timezone": "UTC", "weekend": [], "working_hours": [["00:00", "23:59"]]}


@pytest.fixture
def grid(serve):
    """The grid service with the demo county imported from its CSV files."""
    def start(**settings):
        api = serve(GridService, DISPATCH_SWEEP_SECONDS=0.3, **settings)
        files = {p.name: (p.name, p.read_bytes(), "text/csv") for p in demo_city.FILES.glob("*.csv")}
        response = api.put("/registry", files=files)
        assert response.status_code == 200, response.text
        return api

    return start


def publish(broker, type, subject, **data):
    broker.publish_event(new_event(CATALOGUE, type, CATALOGUE.producer_of(type), subject, data, "c"))


def accept(broker, petition_id, grid_id="g01", category="drains", round=1):
    publish(broker, "petition.accepted.v1", petition_id, petition_id=petition_id,
            grid_id=grid_id, community_id="c-hexi", category=category,
            location=demo_city.point_in(1), round=round, actor="system")


def send_back(broker, petition_id, round, handler, type="petition.returned.v1"):
    publish(broker, type, petition_id, petition_id=petition_id, grid_id="g01",
            community_id="c-hexi", category="drains", location=demo_city.point_in(1),
            round=round, actor="handler", reason="not ours", previous_handler=handler,
            return_reason="not_our_duty")


def rounds(api, petition_id, count):
    return poll(lambda: (r := api.get(f"/dispatches/{petition_id}")).status_code == 200
                and len(r.json()["rounds"]) >= count and r.json()["rounds"], what=f"{count} rounds")


def counted(api, name, **labels):
    """A counter's value as the service's /metrics shows it. Counters live as long as the
    process, and other tests in it count too, so a test compares before and after."""
    return sum(sample.value for family in text_string_to_metric_families(api.get("/metrics").text)
               for sample in family.samples
               if sample.name == name and sample.labels == labels)


def rule(id, handler, **limits):
    return {"id": id, "category": "drains", "handler": handler,
            "acknowledge_within": limits.get("acknowledge", {"amount": 2, "unit": "working_hours"}),
            "finish_within": limits.get("finish", {"amount": 3, "unit": "working_days"})}


def test_the_registry_round_trips_through_csv_and_reimporting_changes_nothing(grid, db_of):
    api = grid()
    announced = db_of("grid").grids.find_one({"_id": "g01"})["revision"]
    files = {p.name: (p.name, p.read_bytes(), "text/csv") for p in demo_city.FILES.glob("*.csv")}
    assert api.put("/registry", files=files).json()["grids"] == 45
    assert db_of("grid").grids.find_one({"_id": "g01"})["revision"] == announced == 1
    for path in demo_city.FILES.glob("*.csv"):
        assert api.get(f"/registry/{path.stem}.csv").text == path.read_text(encoding="utf-8")
    exported = api.get("/registry").json()
    assert api.put("/registry", json=exported).status_code == 200
    assert db_of("grid").grids.find_one({"_id": "g01"})["revision"] == 1
    county = api.get("/places/d-county").json()
    assert county["from_grids"] == {"households": 10_479, "population": 24_868, "grids": 45}
    g01 = api.get("/grids/g01").json()
    assert g01["sub_district_id"] == "sd-xiaojianghu" and g01["butler_team"]["grid_leader"]


def test_a_bad_csv_row_is_refused_with_its_file_line_and_column(grid):
    api = grid()
    files = {p.name: (p.name, p.read_bytes(), "text/csv") for p in demo_city.FILES.glob("*.csv")}
    lines = files["grids.csv"][1].decode().splitlines()
    lines[3] = lines[3].replace(",233,", ",many,", 1)
    files["grids.csv"] = ("grids.csv", "\n".join(lines).encode(), "text/csv")
    refused = api.put("/registry", files=files)
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"] == {"grids.csv": {"line 4": {
        "households": ["Give a whole number, not 'many'."]}}}


def test_a_point_is_located_in_its_grid_and_a_point_outside_is_not_guessed(grid):
    api = grid()
    assert api.get("/locate", params=demo_city.point_in(17)).json()["id"] == "g17"
    outside = api.get("/locate", params={"lat": 31.0, "lng": 121.0})
    assert outside.status_code == 404 and "no grid" in outside.json()["error"]["message"]


def test_eligible_teams_take_turns_by_open_load(grid, broker, db_of):
    api = grid()
    for team in ("team-a", "team-b"):
        publish(broker, "team.registered.v1", team, team_id=team, name=team.title(),
                kind="volunteer_team", skills=["plumbing"])
    poll(lambda: db_of("grid").teams.count_documents({}) == 2, what="the teams to be known")
    assert api.put("/dispatch-rules", json={"rules": [
        rule("plumbers", {"kind": "volunteer_skill", "skill": "plumbing"})]}).status_code == 200
    before = counted(api, "grid_dispatches_total", grid="g01")
    chosen = []
    for n in range(3):
        accept(broker, f"P-load-{n}")
        chosen.append(rounds(api, f"P-load-{n}", 1)[0]["handler"]["team_id"])
    assert sorted(chosen[:2]) == ["team-a", "team-b"]
    assert counted(api, "grid_dispatches_total", grid="g01") == before + 3


def test_a_team_registered_after_the_dispatcher_has_read_the_teams_is_dispatched_to(
        grid, broker, db_of):
    api = grid()
    assert api.put("/dispatch-rules", json={"rules": [
        rule("plumbers", {"kind": "volunteer_skill", "skill": "plumbing"})]}).status_code == 200
    publish(broker, "team.registered.v1", "team-a", team_id="team-a", name="Team A",
            kind="volunteer_team", skills=["plumbing"])
    poll(lambda: db_of("grid").teams.count_documents({}) == 1, what="the first team")
    accept(broker, "P-first")
    assert rounds(api, "P-first", 1)[0]["handler"]["team_id"] == "team-a"
    publish(broker, "team.registered.v1", "team-b", team_id="team-b", name="Team B",
            kind="volunteer_team", skills=["plumbing"])
    poll(lambda: (db_of("grid").revisions.find_one({"_id": "teams"}) or {}).get("revision") == 2,
         what="the second team")
    accept(broker, "P-second")  # team-a has an open order, team-b none
    assert rounds(api, "P-second", 1)[0]["handler"]["team_id"] == "team-b"


def test_an_order_returned_too_often_waits_for_a_ruling_that_is_final(grid, broker):
    api = grid(DISPATCH_MAX_RETURNS=1)
    before = counted(api, "grid_returns_total", grid="g01")
    assert api.put("/dispatch-rules", json={"rules": [
        rule("team", {"kind": "volunteer_team", "team_id": "team-drain-repair"})]}).status_code == 200
    accept(broker, "P-bounce")
    first = rounds(api, "P-bounce", 1)[0]
    send_back(broker, "P-bounce", 2, first["handler"])
    second = rounds(api, "P-bounce", 2)[1]
    assert second["handler"]["team_id"] == "butler-g01"
    send_back(broker, "P-bounce", 3, second["handler"])
    third = rounds(api, "P-bounce", 3)[2]
    assert third["state"] == "awaiting_ruling" and third["handler"] is None
    assert [a["petition_id"] for a in api.get("/arbitrations").json()["awaiting_ruling"]] == [
        "P-bounce"]
    ruled = api.post("/arbitrations/P-bounce", json={
        "arbiter": "centre-1", "reason": "Lane drains are the community's: the repairs team",
        "handler": {"kind": "volunteer_team", "team_id": "team-drain-repair"}})
    assert ruled.status_code == 200, ruled.text
    assert ruled.json()["final"] is True and ruled.json()["state"] == "open"
    again = api.post("/arbitrations/P-bounce", json={
        "arbiter": "centre-2", "reason": "second thoughts", "handler": {"kind": "butler_team"}})
    assert again.status_code == 409
    assert counted(api, "grid_returns_total", grid="g01") == before + 2


def test_late_orders_are_reminded_then_escalated_by_the_clock(grid, broker):
    api = grid(DISPATCH_ACKNOWLEDGE_TO_WORKSTATION_AFTER=0.0003,
               DISPATCH_ACKNOWLEDGE_TO_SUB_DISTRICT_AFTER=0.0006)
    assert api.put("/calendar", json=ALWAYS_WORKING).status_code == 200
    before = counted(api, "grid_escalations_total", grid="g01", level="2")
    assert api.put("/dispatch-rules", json={"rules": [rule(
        "quick", {"kind": "butler_team"}, acknowledge={"amount": 0.0003, "unit": "hours"})]}
    ).status_code == 200
    accept(broker, "P-late")
    steps = poll(lambda: len(r := rounds(api, "P-late", 1)[0]["clock_steps"]) >= 3 and r,
                 what="the reminder and two escalations")
    assert steps[:3] == ["acknowledge:remind", "acknowledge:workstation",
                         "acknowledge:sub_district"]
    assert counted(api, "grid_escalations_total", grid="g01", level="2") == before + 1


def test_acknowledging_stops_the_clock_and_counts_on_time(grid, broker):
    api = grid()
    before = counted(api, "grid_acknowledgements_total", grid="g01", on_time="true")
    accept(broker, "P-on-time")
    rounds(api, "P-on-time", 1)
    publish(broker, "petition.acknowledged.v1", "P-on-time", petition_id="P-on-time", round=1,
            actor="v1")
    poll(lambda: rounds(api, "P-on-time", 1)[0]["acknowledged_at"], what="the acknowledgement")
    assert counted(api, "grid_acknowledgements_total", grid="g01", on_time="true") == before + 1


def test_an_extension_pauses_the_finish_clock_until_decided(grid, broker):
    api = grid()
    accept(broker, "P-ext")
    before = rounds(api, "P-ext", 1)[0]
    asked = api.post("/dispatches/P-ext/extension-request", json={
        "actor": "butler-g01", "reason": "waiting for a part", "working_days": 2})
    assert asked.status_code == 200 and asked.json()["extension"]["state"] == "pending"
    twice = api.post("/dispatches/P-ext/extension-request", json={
        "actor": "butler-g01", "reason": "again", "working_days": 2})
    assert twice.status_code == 409
    decided = api.post("/dispatches/P-ext/extension-decision", json={
        "actor": "centre-1", "approve": True})
    assert decided.status_code == 200, decided.text
    assert decided.json()["due_by"] > before["due_by"]
    bad = api.post("/dispatches/P-ext/extension-decision", json={"actor": "x", "approve": "maybe"})
    assert bad.status_code == 422 and "approve" in bad.json()["error"]["fields"]
