"""The dashboards' metrics: counters count what the store applied (an event delivered again
counts once, even when the deliveries race each other), and the gauges follow the stores."""

from datetime import timedelta

from prometheus_client import REGISTRY

from services.funding.service import FundingService
from services.petition.service import PetitionService
from shared import geo
from shared.catalogue import CATALOGUE
from shared.events import new_event, now
from tests.conftest import poll
from tests.integration.test_grid_service import grid  # noqa: F401 (a fixture)
from tools import demo_city

HANDLER = {"kind": "volunteer_team", "team_id": "team-drain-repair", "name": "Drains team"}
FUNDING = {"department_id": "housing", "budget_line": "public_infrastructure",
           "fiscal_year": 2026, "estimate_fen": 30_000, "centre_id": "centre-c-hexi"}


def value(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0


def handled(type, handler):
    return value("events_handled_total", type=type, handler=handler, outcome="handled")


def dispatched(petition_id, funding=None):
    return new_event(CATALOGUE, "petition.dispatched.v1", "grid", petition_id, {
        "petition_id": petition_id, "grid_id": "g01", "community_id": "c-hexi",
        "category": "drains", "round": 1, "rule_id": "r", "handler": HANDLER,
        "funding": funding, "acknowledge_by": now() + timedelta(hours=4),
        "due_by": now() + timedelta(days=3)}, "c")


def deliver_three_times(broker, event):
    """The same event three times at once: handlers run concurrently, so the deliveries
    race for the same document."""
    for _ in range(3):
        broker.publish_event(event)


def test_a_redelivered_dispatch_counts_one_dispatch_and_the_work_shows_as_open(serve, broker):
    api = serve(PetitionService, PETITION_FIGURES_SECONDS=0.2)
    broker.publish_event(new_event(CATALOGUE, "grid.registered.v1", "grid", "g01", {
        "grid_id": "g01", "name": "Hexi grid 1", "community_id": "c-hexi",
        "community_type": "industrial", "workstation_id": "ws-1", "households": 230,
        "population": 550, "revision": 1, "boundary": geo.to_text(demo_city.boundary(1))}, "c"))
    poll(lambda: api.get("/grids").json()["grids"], what="the grid")
    raised = api.post("/petitions", json={
        "category": "drains", "description": "The drain overflows.", "channel": "kiosk",
        "location": {**demo_city.point_in(1), "address": "Building 3"},
        "attributes": {"severity": "overflowing"}, "reporter": {"name": "Wang Fang"}})
    assert raised.status_code == 201, raised.text
    petition_id = raised.json()["id"]
    counted = value("petitions_dispatched_total", grid="g01", category="drains")
    follows = handled("petition.dispatched.v1", "follow")
    deliver_three_times(broker, dispatched(petition_id))
    poll(lambda: handled("petition.dispatched.v1", "follow") == follows + 3,
         what="the three deliveries handled")
    assert value("petitions_dispatched_total", grid="g01", category="drains") == counted + 1
    poll(lambda: value("petitions_open", grid="g01") == 1, what="the open-work gauge")


def test_a_redelivered_dispatch_is_one_petition_in_the_three_rates_gauges(grid, broker):  # noqa: F811
    grid(EVALUATION_GAUGES_SECONDS=0.2)
    deliver_three_times(broker, dispatched("P-rates"))
    poll(lambda: value("evaluation_rate_base", rate="response", by="community", id="c-hexi") == 1
         and value("evaluation_response_rate", by="community", id="c-hexi") == 0.0,
         what="the response rate: one dispatched, none acknowledged yet")


def test_the_three_rates_gauges_follow_each_change_after_the_month_was_read_whole(
        grid, broker):  # noqa: F811
    grid(EVALUATION_GAUGES_SECONDS=0.2)
    broker.publish_event(dispatched("P-followed"))
    poll(lambda: value("evaluation_rate_base", rate="response", by="grid", id="g01") == 1
         and value("evaluation_response_rate", by="grid", id="g01") == 0.0,
         what="one dispatched, none acknowledged yet")
    broker.publish_event(new_event(CATALOGUE, "petition.acknowledged.v1", "petition",
                                   "P-followed", {"petition_id": "P-followed", "round": 1,
                                                  "actor": "team-drain-repair"}, "c"))
    poll(lambda: value("evaluation_response_rate", by="grid", id="g01") == 1.0,
         what="the acknowledgement in the response rate")


def test_a_redelivered_dispatch_holds_and_counts_the_money_once(serve, broker):
    api = serve(FundingService, FUNDING_FIGURES_SECONDS=0.2)
    allocated = api.post("/allocations", json={
        "allocation_id": "metrics-budget", "department_id": "housing",
        "budget_line": "public_infrastructure", "fiscal_year": 2026, "amount_fen": 100_000,
        "approved_by": "county finance bureau"})
    assert allocated.status_code == 201, allocated.text
    held = value("funding_held_fen_total", department="housing",
                 budget_line="public_infrastructure")
    holds = handled("petition.dispatched.v1", "hold")
    deliver_three_times(broker, dispatched("P-metrics", FUNDING))
    poll(lambda: handled("petition.dispatched.v1", "hold") == holds + 3,
         what="the three deliveries handled")
    assert value("funding_held_fen_total", department="housing",
                 budget_line="public_infrastructure") == held + 30_000
    poll(lambda: value("funding_on_hold_fen", department="housing",
                       budget_line="public_infrastructure") == 30_000, what="what is on hold")
