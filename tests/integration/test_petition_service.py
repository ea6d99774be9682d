"""The petition service on the real broker and database, with the test playing the other
services: it publishes their events and drives the lifecycle over HTTP.

Every state is reached for real, every command is tried in every state, and the
duplicate, follow-up and time-driven paths run through the service's own
handlers and sweep.
"""

import itertools
from datetime import timedelta

import pytest

from services.petition import domain
from services.petition.service import PetitionService
from shared import geo
from shared.auth import AUDITOR, GRID_STAFF
from shared.catalogue import CATALOGUE
from shared.events import new_event, now
from tests.conftest import poll
from tools import demo_city
from tools.auth import bearer

HANDLER = {"kind": "volunteer_team", "team_id": "team-drain-repair", "name": "Drains team"}
DRAIN = {"category": "drains", "description": "The drain outside building 3 overflows.",
         "location": {**demo_city.point_in(1), "address": "Building 3"}, "channel": "kiosk",
         "attributes": {"severity": "overflowing"},
         "reporter": {"name": "Wang Fang", "phone": "13800001234"}}
# A quick sweep; duplicates only within 5 m, so test petitions a few metres apart are not.
SETTINGS = {"PETITION_SWEEP_SECONDS": 0.3, "PETITION_DUPLICATE_RADIUS_M": 5}


@pytest.fixture
def service(serve, broker):
    """The petition service, knowing grids g01 and g02, with a quick sweep."""
    def start(**settings):
        api = serve(PetitionService, **{**SETTINGS, **settings})
        for number in (1, 2):
            broker.publish_event(new_event(CATALOGUE, "grid.registered.v1", "grid", f"g0{number}", {
                "grid_id": f"g0{number}", "name": f"Hexi grid {number}", "community_id": "c-hexi",
                "community_type": "industrial", "workstation_id": "ws-1", "households": 230,
                "population": 550, "revision": 1,
                "boundary": geo.to_text(demo_city.boundary(number))}, "c"))
        poll(lambda: len(api.get("/grids").json()["grids"]) == 2, what="the grids")
        return api

    return start


class Others:
    """The grid and volunteer services' part, as events on the broker."""

    def __init__(self, broker):
        self.broker = broker

    def publish(self, type, petition_id, **data):
        self.broker.publish_event(new_event(CATALOGUE, type, CATALOGUE.producer_of(type),
                                            petition_id, {"petition_id": petition_id, **data}, "c"))

    def dispatch(self, petition_id, round=1, acknowledge_in=4, finish_in=72):
        self.publish("petition.dispatched.v1", petition_id, grid_id="g01", community_id="c-hexi",
                     category="drains", round=round, rule_id="r", handler=HANDLER, funding=None,
                     acknowledge_by=now() + timedelta(hours=acknowledge_in),
                     due_by=now() + timedelta(hours=finish_in))

    def claim(self, petition_id, round=1):
        self.publish("task.claimed.v1", petition_id, task_id=f"T-{petition_id}-{round}",
                     round=round, team_id="team-drain-repair", volunteer_id="v1")

    def complete(self, petition_id, round=1):
        self.publish("task.completed.v1", petition_id, task_id=f"T-{petition_id}-{round}",
                     round=round, team_id="team-drain-repair", volunteer_id="v1", hours=1.5,
                     cost_fen=0, funding=None, verified_by="g01-grid_leader")


@pytest.fixture
def others(broker):
    return Others(broker)


def raise_petition(api, **changes):
    response = api.post("/petitions", json={**DRAIN, **changes})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def state_of(api, petition_id):
    return api.get(f"/petitions/{petition_id}").json()["state"]


def wait_for(api, petition_id, state):
    poll(lambda: state_of(api, petition_id) == state, what=f"{petition_id} to be {state}")


def command(api, petition_id, name, status=200, **body):
    response = api.post(f"/petitions/{petition_id}/{name}", json={"actor": "staff-1", **body})
    assert response.status_code == status, response.text
    return response.json()


def petition_in(api, others, state):
    """A petition brought to ``state`` through the service's real inputs."""
    if state == "raised":  # a likely duplicate waits for staff
        spot = {**DRAIN["location"], "address": None}
        raise_petition(api, location=spot)
        return raise_petition(api, location=spot)
    east = 0.05 + 0.07 * domain.STATES.index(state)  # some 13 m apart: not duplicates
    petition_id = raise_petition(api, location=demo_city.point_in(2, east, 0.5), grid_id="g02")
    wait_for(api, petition_id, "accepted")

    def dispatched():
        others.dispatch(petition_id)
        wait_for(api, petition_id, "dispatched")

    def acknowledged():
        dispatched()
        others.claim(petition_id)
        wait_for(api, petition_id, "acknowledged")

    def resolved():
        dispatched()
        others.complete(petition_id)
        wait_for(api, petition_id, "resolved")

    def then(first, *commands):
        first()
        for name, body in commands:
            command(api, petition_id, name, **body)

    steps = {
        "accepted": lambda: None,
        "dispatched": dispatched,
        "acknowledged": acknowledged,
        "in_progress": lambda: then(acknowledged, ("progress", {"reason": "digging"})),
        "resolved": resolved,
        "returned": lambda: then(dispatched, ("return", {"reason": "a main road: housing's",
                                                       "return_reason": "needs_other_department"})),
        "reopened": lambda: then(resolved, ("follow-up", {"rating": 1})),
        "verified": lambda: then(resolved, ("follow-up", {"rating": 5})),
        "closed": lambda: then(resolved, ("follow-up", {"rating": 5}), ("close", {})),
        "rejected": lambda: command(api, petition_id, "reject", reason="not a public matter"),
        "merged": lambda: command(api, petition_id, "merge", into=raise_petition(api),
                                  reason="the same drain"),
    }
    steps[state]()
    assert state_of(api, petition_id) == state
    return petition_id


def test_every_state_is_reached_and_every_command_outside_its_states_answers_409(service, others):
    api = service(PETITION_ARCHIVE_HOURS=1000, PETITION_FOLLOW_UP_HOURS=1000)
    petitions = {state: petition_in(api, others, state) for state in domain.STATES}
    bodies = {"reject": {"reason": "x" * 5}, "progress": {"reason": "x" * 5},
              "resolve": {"reason": "x" * 5},
              "return": {"reason": "x" * 5, "return_reason": "wrong_area"},
              "escalate": {"reason": "x" * 5}, "follow-up": {"rating": 4},
              "merge": {"into": petitions["accepted"], "reason": "same"}}
    urls = {"report_progress": "progress", "follow_up": "follow-up", "confirm_work": "confirm-work"}
    for command_name, state in itertools.product(domain.LIFECYCLE.transitions, domain.STATES):
        if state in domain.LIFECYCLE.transitions[command_name].sources:
            continue
        url = urls.get(command_name, command_name)
        error = command(api, petitions[state], url, status=409, **bodies.get(url, {}))["error"]
        assert error["code"] == "illegal_transition", (command_name, state)
        assert error["state"] == state and error["allowed"] == domain.LIFECYCLE.allowed(state)
    assert state_of(api, petitions["closed"]) == "closed"


def test_each_legal_command_moves_the_petition_and_writes_its_timeline(service, others):
    api = service()
    petition_id = petition_in(api, others, "dispatched")
    command(api, petition_id, "escalate", reason="the resident called twice")
    command(api, petition_id, "acknowledge")
    command(api, petition_id, "progress", reason="parts ordered")
    staff_view = command(api, petition_id, "resolve", reason="replaced the grate")
    assert staff_view["state"] == "resolved" and staff_view["escalation_level"] == 1
    timeline = api.get(f"/petitions/{petition_id}/timeline").json()["timeline"]
    assert [step["type"] for step in timeline][-5:] == [
        "petition.dispatched.v1", "petition.escalated.v1", "petition.acknowledged.v1",
        "petition.progressed.v1", "petition.resolved.v1"]
    assert {step["actor"] for step in timeline[-4:]} == {"staff-1"}


def test_staff_accept_a_flagged_petition_that_is_not_a_duplicate_after_all(service):
    api = service()
    spot = {**DRAIN["location"], "address": None}
    raise_petition(api, location=spot)
    flagged = raise_petition(api, location=spot, category="drains")
    assert state_of(api, flagged) == "raised"
    accepted = command(api, flagged, "accept", reason="a second drain on the same corner")
    assert accepted["state"] == "accepted" and accepted["round"] == 1
    assert api.get(f"/petitions/{flagged}/timeline").json()["timeline"][-1]["type"] == (
        "petition.accepted.v1")


def test_a_petition_rejected_at_the_same_spot_is_no_duplicate_candidate(service):
    api = service()
    spot = {**DRAIN["location"], "address": None}
    first = raise_petition(api, location=spot)
    command(api, first, "reject", reason="not a matter for the grid")
    again = raise_petition(api, location=spot)
    assert state_of(api, again) == "accepted"
    assert api.get(f"/staff/petitions/{again}").json()["duplicate_candidates"] == []


def test_a_likely_duplicate_is_flagged_merged_and_its_reporter_told_the_outcome(service, others):
    api = service(PETITION_ARCHIVE_HOURS=1000)
    first = raise_petition(api)
    nearby = {**demo_city.point_in(1, 0.31, 0.31), "address": None}  # a couple of metres away
    second = raise_petition(api, location=nearby, reporter={"anonymous": True})
    staff = api.get(f"/staff/petitions/{second}").json()
    assert staff["state"] == "raised"
    assert [c["id"] for c in staff["duplicate_candidates"]] == [first]

    command(api, second, "merge", into=first, reason="the same drain")
    poll(lambda: second in api.get(f"/staff/petitions/{first}").json()["merged_petitions"],
         what="the primary to list its duplicate")

    others.dispatch(first)
    others.complete(first)
    wait_for(api, first, "resolved")
    command(api, first, "follow-up", rating=5, comment="Fixed the same day")
    command(api, first, "close")
    wait_for(api, second, "closed")
    told = api.get(f"/petitions/{second}").json()
    assert told["outcome"] == "satisfied"
    assert first in api.get(f"/petitions/{second}/timeline").json()["timeline"][-1]["summary"]


def test_a_poor_rating_for_the_handlers_cause_reopens_and_a_new_round_is_followed(service, others):
    api = service()
    petition_id = petition_in(api, others, "resolved")
    reopened = command(api, petition_id, "follow-up", rating=2, comment="Still overflowing")
    assert reopened["state"] == "reopened" and reopened["round"] == 2
    others.complete(petition_id, round=1)  # a late event of the old round changes nothing
    others.dispatch(petition_id, round=2)
    wait_for(api, petition_id, "dispatched")
    poll(lambda: "superseded" in api.get(f"/petitions/{petition_id}/timeline").text,
         what="the stale completion on the timeline")
    assert state_of(api, petition_id) == "dispatched"


def test_time_closes_unanswered_follow_ups(service, others):
    api = service(PETITION_FOLLOW_UP_HOURS=0)
    # With no time for a follow-up, "resolved" may last less than a poll: wait for the close.
    resolved = petition_in(api, others, "dispatched")
    others.complete(resolved)
    wait_for(api, resolved, "closed")
    assert api.get(f"/petitions/{resolved}").json()["outcome"] == "no_response"


def test_the_dispatchers_clocks_show_on_the_petition_and_overdue_orders_are_found(service, others):
    api = service()
    late = raise_petition(api, location=demo_city.point_in(1, 0.9, 0.9))
    wait_for(api, late, "accepted")
    others.dispatch(late, acknowledge_in=-1, finish_in=-0.5)
    for level in (1, 2):
        others.publish("dispatch.escalated.v1", late, round=1, grid_id="g01", clock="acknowledge",
                       deadline=now(), handler=HANDLER, level=level, to_place=f"place-{level}")
    poll(lambda: api.get(f"/petitions/{late}").json()["escalation_level"] == 2,
         what="both escalations")
    overdue = api.get("/staff/petitions", params={"overdue": "true", "grid_id": "g01"}).json()
    assert late in [p["id"] for p in overdue["petitions"]]
    assert "督办" in api.get(f"/petitions/{late}/timeline").text


def test_staff_queries_page_with_a_stable_cursor_and_filters(service):
    api = service()
    raised = [raise_petition(api, location=demo_city.point_in(2, 0.1 * n, 0.5), grid_id="g02",
                             channel="hotline") for n in range(1, 6)]
    seen, cursor = [], None
    while True:
        params = {"grid_id": "g02", "channel": "hotline", "limit": 2}
        page = api.get("/staff/petitions", params={**params, **({"cursor": cursor} if cursor
                                                                else {})}).json()
        seen += [p["id"] for p in page["petitions"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(raised))
    assert all(p["reporter"]["phone"] == "138****1234"
               for p in api.get("/staff/petitions", params={"grid_id": "g02"}).json()["petitions"])
    bad = api.get("/staff/petitions", params={"state": "lost", "colour": "red"})
    assert bad.status_code == 422 and set(bad.json()["error"]["fields"]) == {"state", "colour"}


def test_a_point_finds_its_grid_and_a_point_outside_every_grid_is_refused(service):
    api = service()
    petition_id = raise_petition(api, location=demo_city.point_in(2))
    assert api.get(f"/petitions/{petition_id}").json()["grid_id"] == "g02"
    outside = api.post("/petitions", json={**DRAIN, "location": {"lat": 10.0, "lng": 10.0}})
    assert outside.status_code == 422
    assert "in no grid" in outside.json()["error"]["fields"]["location"][0]


def test_public_views_hide_the_reporter_and_the_map_is_coarse(service):
    api = service()
    petition_id = raise_petition(api)
    public = api.get(f"/petitions/{petition_id}").json()
    assert public["reported_by"] == "W*** F***" and "reporter" not in public
    assert "attributes" not in public
    grid_staff = bearer(GRID_STAFF, grids=("g01",))
    contact = api.get(f"/staff/petitions/{petition_id}", headers=grid_staff).json()["reporter"]
    assert contact["phone"] == "13800001234"
    masked = api.get(f"/staff/petitions/{petition_id}", headers=bearer(AUDITOR)).json()
    assert masked["reporter"]["phone"] == "138****1234"
    on_map = api.get("/grids/g01/petitions").json()["petitions"]
    assert on_map[0]["location"] == {"lat": round(DRAIN["location"]["lat"], 3),
                                     "lng": round(DRAIN["location"]["lng"], 3)}
    assert "Wang" not in str(on_map) and "description" not in on_map[0]


def test_category_extra_fields_are_checked_against_the_category(service):
    api = service()
    missing = api.post("/petitions", json={**DRAIN, "attributes": {}})
    assert missing.json()["error"]["fields"]["attributes"] == {
        "severity": ["Missing data for required field."]}
    wrong = api.post("/petitions", json={**DRAIN, "attributes": {"severity": "mild"}})
    assert "Choose one of" in wrong.json()["error"]["fields"]["attributes"]["severity"][0]
    defined = api.put("/categories/bench_repair", json={
        "name": "Broken bench", "group": "Public works", "description": "Benches in parks",
        "attributes": [{"code": "benches", "description": "How many?", "datatype": "number",
                        "required": True}]})
    assert defined.status_code == 200, defined.text
    petition_id = raise_petition(api, category="bench_repair", attributes={"benches": 2})
    assert api.get(f"/staff/petitions/{petition_id}").json()["attributes"] == {"benches": 2.0}


def test_a_proposal_is_reviewed_voted_on_noticed_and_adopted_work_is_tracked(service):
    # A notice window of about 4 seconds, so the test sees it open and then closed.
    api = service(PROPOSAL_NOTICE_DAYS=0.00005)

    def step(proposal_id, name, status=200, **body):
        response = api.post(f"/proposals/{proposal_id}/{name}", json=body)
        assert response.status_code == status, response.text
        return response.json()

    submitted = api.post("/proposals", json={
        "community_id": "c-hexi", "title": "Street lights for lane 4",
        "text": "Lane 4 has been dark for a year; we ask for six street lights.",
        "submitted_by": "Residents of lane 4", "supporters": 37})
    assert submitted.status_code == 201, submitted.text
    proposal_id = submitted.json()["id"]

    refused = step(proposal_id, "review", 422, decision="reject", opinion="Too costly",
                   actor="branch-hexi")
    assert "consultation" in refused["error"]["fields"]
    step(proposal_id, "review", decision="endorse", opinion="Needed and affordable",
         actor="branch-hexi")
    inquorate = step(proposal_id, "vote", members=30, present=15, in_favour=15, against=0,
                     abstaining=0, actor="assembly-hexi")
    assert inquorate["state"] == "awaiting_vote" and inquorate["votes"][-1]["quorate"] is False
    noticed = step(proposal_id, "vote", members=30, present=24, in_favour=20, against=3,
                   abstaining=1, actor="assembly-hexi")
    assert noticed["state"] == "on_notice" and noticed["notice"]["outcome"] == "adopted"
    step(proposal_id, "objections", grounds="The lights will shine into our bedrooms.",
         by="Household 4-12")
    too_early = step(proposal_id, "conclude", 409, actor="branch-hexi",
                     answers={"O1": "Shielded lamps"})
    assert "runs until" in too_early["error"]["message"]

    # Once the window has closed, the notice concludes only with every objection answered.
    conclude = f"/proposals/{proposal_id}/conclude"
    unanswered = poll(lambda: (r := api.post(conclude, json={"actor": "branch-hexi"}))
                      .status_code == 422 and r.json(), what="the notice window to close")
    assert "O1" in unanswered["error"]["fields"]["answers"][0]
    adopted = step(proposal_id, "conclude", actor="branch-hexi",
                   answers={"O1": "The lamps will be shielded downwards."})
    assert adopted["state"] == adopted["outcome"] == "adopted"

    petition_id = raise_petition(api, category="street_lighting", attributes={"lights_out": 6},
                                 proposal_id=proposal_id)
    public = api.get(f"/proposals/{proposal_id}").json()
    assert public["work"] == [{"petition_id": petition_id, "category": "street_lighting",
                               "state": "accepted"}]
    assert [v["in_favour"] for v in public["votes"]] == [15, 20]
    assert public["objections"][0]["answer"] == "The lamps will be shielded downwards."
    assert api.get("/proposals", params={"community_id": "c-hexi"}).json()["proposals"][0][
        "id"] == proposal_id
    not_adopted = api.post("/proposals", json={
        "community_id": "c-hexi", "title": "Another", "text": "Another proposal, still in review.",
        "submitted_by": "A resident"})
    work = api.post("/petitions", json={**DRAIN, "proposal_id": not_adopted.json()["id"]})
    assert work.status_code == 422 and "proposal_id" in work.json()["error"]["fields"]
