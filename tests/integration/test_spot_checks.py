"""Spot checks (不定期抽查) on the real broker and database: the grid service draws each
grid's week from the evaluation's facts and records the draw so it can be repeated; the
checker confirms, or overturns, and then the petition service reopens the petition and the
handler's figures fall."""

import random
from datetime import timedelta

from nameko.testing.services import entrypoint_hook

from services.grid.evaluation import week_of
from services.grid.service import GridService
from services.petition.service import PetitionService
from shared.catalogue import CATALOGUE
from shared.events import load_event, new_event, now
from tests.conftest import poll
from tests.integration.conftest import Api, free_port
from tests.integration.test_grid_service import grid, rule  # noqa: F401 (a fixture)
from tests.integration.test_petition_service import DRAIN
from tools import demo_city
from tools.auth import bearer

HANDLER = {"kind": "volunteer_team", "team_id": "team-a", "name": "Team A"}


def publish_at(broker, at, type, petition_id, **data):
    event = new_event(CATALOGUE, type, CATALOGUE.producer_of(type), petition_id,
                      {"petition_id": petition_id, **data}, "spot-check-test")
    broker.publish_event({**event, "time": at.isoformat()})


def closed(broker, petition_id, grid_id, at):
    """A petition dispatched and closed at ``at``, as the evaluation learns it."""
    publish_at(broker, at, "petition.dispatched.v1", petition_id, grid_id=grid_id,
               community_id="c-hexi", category="drains", round=1, rule_id="r1", handler=HANDLER,
               funding=None, acknowledge_by=at + timedelta(hours=2), due_by=at + timedelta(days=3))
    publish_at(broker, at, "petition.closed.v1", petition_id, actor="grid-leader",
               outcome="satisfied")


def closures_folded(db_of, count):
    facts = db_of("grid").petition_facts
    poll(lambda: facts.count_documents({"closed": {"$ne": None}}) == count,
         what=f"{count} closures folded")


def as_checker(person_id):
    return bearer("volunteer", sub=person_id, volunteer_id=person_id)


def test_the_weekly_draw_is_recorded_once_per_grid_and_repeatable_from_its_seed(
        grid, serve, broker, db_of):  # noqa: F811
    grid()  # imports the registry and folds the events; its timer waits an hour
    last_week = now() - timedelta(days=7)
    week = week_of(last_week.isoformat())
    g01 = [f"P-g01-{n}" for n in range(5)]
    for petition_id in g01:
        closed(broker, petition_id, "g01", last_week)
    for petition_id in ("P-g02-0", "P-g02-1"):
        closed(broker, petition_id, "g02", last_week)
    closed(broker, "P-g01-this-week", "g01", now())
    closures_folded(db_of, 8)
    # A second replica whose timer runs often: it draws last week.
    api = serve(GridService, SPOT_CHECK_SWEEP_SECONDS=0.3, SPOT_CHECK_SHARE=0.5)

    draws = poll(lambda: len(found := api.get("/spot-checks/draws", params={"week": week})
                             .json()["draws"]) == 2 and found, what="last week's draws")
    by_grid = {d["grid_id"]: d for d in draws}
    # The population is the grid's closures of the week, sorted; this week's is not in it.
    assert by_grid["g01"]["population"] == sorted(g01)
    assert (by_grid["g01"]["size"], by_grid["g02"]["size"]) == (3, 1)  # ceil(0.5 x 5), ceil(0.5 x 2)
    for draw in draws:
        # Anyone repeats it from the record.
        assert random.Random(draw["seed"]).sample(draw["population"], draw["size"]) == draw["drawn"]
        assert draw["drawn_by"] == "system"

    checks = api.get("/spot-checks", params={"week": week}).json()["spot_checks"]
    assert sorted(c["petition_id"] for c in checks) == sorted(by_grid["g01"]["drawn"]
                                                             + by_grid["g02"]["drawn"])
    assert {c["grid_id"]: c["checker"]["id"] for c in checks} == {
        "g01": "g01-livelihood_supervisor", "g02": "g02-livelihood_supervisor"}

    # The week is not drawn again, not even with another seed: the record stands.
    again = api.post("/spot-checks/draws", json={"week": week, "grid_id": "g01", "seed": "other"})
    assert again.status_code == 200, again.text
    [repeated] = again.json()["draws"]
    assert repeated["new"] is False and repeated["seed"] == by_grid["g01"]["seed"]
    assert repeated["drawn"] == by_grid["g01"]["drawn"]
    assert len(api.get("/spot-checks", params={"week": week}).json()["spot_checks"]) == 4


def test_only_the_assigned_checker_confirms_with_a_note_and_a_decision_is_final(
        grid, broker, db_of):  # noqa: F811
    api = grid(SPOT_CHECK_SHARE=1)
    for petition_id in ("P-g03-0", "P-g03-1"):
        closed(broker, petition_id, "g03", now())
    closures_folded(db_of, 2)
    week = week_of(now().isoformat())
    dispatcher = bearer("dispatcher", grids=("g03",))
    drawn = api.post("/spot-checks/draws", headers=dispatcher,
                     json={"week": week, "grid_id": "g03", "seed": "drawn at the grid meeting"})
    assert drawn.status_code == 200, drawn.text
    [draw] = drawn.json()["draws"]
    assert draw["new"] is True and draw["seed"] == "drawn at the grid meeting"
    assert draw["drawn"] == random.Random(draw["seed"]).sample(["P-g03-0", "P-g03-1"], 2)
    check_id = f"SC-{week}-P-g03-0"
    url = f"/spot-checks/{check_id}/confirm"
    supervisor = as_checker("g03-livelihood_supervisor")

    # The checker sees their checks; another grid's supervisor neither sees nor decides them.
    mine = api.get("/spot-checks", headers=supervisor).json()["spot_checks"]
    assert sorted(c["id"] for c in mine) == [check_id, f"SC-{week}-P-g03-1"]
    stranger = as_checker("g04-livelihood_supervisor")
    assert api.get("/spot-checks", headers=stranger).json()["spot_checks"] == []
    assert api.get(f"/spot-checks/{check_id}", headers=stranger).status_code == 403
    # Grid staff see the check, but only its checker decides it.
    staff = bearer("grid_staff", grids=("g03",))
    assert api.get(f"/spot-checks/{check_id}", headers=staff).json()["state"] == "assigned"
    refused = api.post(url, headers=staff, json={"note": "Looks fine to me."})
    assert refused.status_code == 403
    assert "livelihood supervisor of g03" in refused.json()["error"]["message"]
    # A decision says what was found.
    for body in ({}, {"note": "   "}):
        missing = api.post(url, headers=supervisor, json=body)
        assert missing.status_code == 422 and "note" in missing.json()["error"]["fields"]

    confirmed = api.post(url, headers=supervisor, json={"note": "Visited: the drain is clear."})
    assert confirmed.status_code == 200, confirmed.text
    assert (confirmed.json()["state"], confirmed.json()["decided_by"]) == (
        "confirmed", "g03-livelihood_supervisor")
    again = api.post(f"/spot-checks/{check_id}/overturn", headers=supervisor,
                     json={"note": "Second thoughts."})
    assert again.status_code == 409 and "final" in again.json()["error"]["message"]

    future = api.post("/spot-checks/draws", json={"week": "2099-W01"})
    assert future.status_code == 422 and "week" in future.json()["error"]["fields"]


def test_an_overturn_reopens_the_petition_once_and_counts_against_its_handler(
        grid, start_service, broker, db_of):  # noqa: F811
    api = grid(SPOT_CHECK_SHARE=1)
    assert api.put("/dispatch-rules", json={"rules": [
        rule("team", {"kind": "volunteer_team", "team_id": "team-drain-repair"})]}).status_code == 200
    port = free_port()
    petitions_container = start_service(PetitionService, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
    petitions = Api(f"http://127.0.0.1:{port}")
    poll(lambda: "g01" in {g["id"] for g in petitions.get("/grids").json()["grids"]},
         what="grid g01 to be known")
    raised = petitions.post("/petitions", json={**DRAIN, "grid_id": "g01",
                                                "location": demo_city.point_in(1)})
    assert raised.status_code == 201, raised.text
    petition_id = raised.json()["id"]

    def state():
        return petitions.get(f"/petitions/{petition_id}").json()["state"]

    poll(lambda: state() == "dispatched", what="the dispatch")
    for name, body in (("acknowledge", {}), ("resolve", {"reason": "Cleared the drain."}),
                       ("follow-up", {"rating": 5}), ("close", {})):
        done = petitions.post(f"/petitions/{petition_id}/{name}", json={"actor": "staff-1", **body})
        assert done.status_code == 200, done.text

    def handler_figures():
        return api.get("/evaluation/figures",
                       params={"kind": "handler", "id": "team-drain-repair"}).json()

    poll(lambda: handler_figures()["resolved"] == 1 and db_of("grid").petition_facts.find_one(
        {"_id": petition_id, "closed": {"$ne": None}}), what="the closure folded")
    week = week_of(now().isoformat())
    assert api.post("/spot-checks/draws", json={"week": week, "grid_id": "g01"}).status_code == 200
    check_id = f"SC-{week}-{petition_id}"

    overturned = api.post(f"/spot-checks/{check_id}/overturn",
                          headers=as_checker("g01-livelihood_supervisor"),
                          json={"note": "Visited: the drain still overflows."})
    assert overturned.status_code == 200, overturned.text
    assert overturned.json()["state"] == "overturned"

    # The petition goes back to dispatch as round 2, the checker's note its reason.
    poll(lambda: state() == "dispatched" and petitions.get(
        f"/staff/petitions/{petition_id}").json()["round"] == 2, what="the second round")
    timeline = petitions.get(f"/petitions/{petition_id}/timeline").json()["timeline"]
    reopened = [e for e in timeline if e["type"] == "petition.reopened.v1"]
    assert len(reopened) == 1 and "the drain still overflows" in reopened[0]["summary"]
    # The overturned round no longer counts as resolved for its handler.
    poll(lambda: handler_figures()["resolved"] == 0, what="the handler's figures to fall")

    # A redelivered overturn reopens nothing more.
    kept = db_of("grid").published_events.find_one({"type": "spot_check.overturned.v1"})
    redelivered = load_event(CATALOGUE, kept["event"], "spot_check.overturned.v1")
    with entrypoint_hook(petitions_container, "reopen_after_spot_check") as reopen:
        reopen(redelivered)
    assert petitions.get(f"/staff/petitions/{petition_id}").json()["round"] == 2
    timeline = petitions.get(f"/petitions/{petition_id}/timeline").json()["timeline"]
    assert [e["type"] for e in timeline].count("petition.reopened.v1") == 1
