"""The funding service on the real broker and database, the test playing the dispatcher,
the volunteers and the petitions: holds, one capture, releases, blocked lines and top-ups,
approvals, duplicates and out-of-order events, reversal, and the reconciliation report,
with a property-based test (hypothesis) over random histories."""

import csv
import io
import itertools
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.funding.service import FundingService
from shared.catalogue import CATALOGUE
from shared.events import new_event, now
from tests.conftest import poll

LINE = "dept:housing:public_infrastructure:2026"
HELD = "held:housing:public_infrastructure:2026"
FUNDING = {"department_id": "housing", "budget_line": "public_infrastructure",
           "fiscal_year": 2026, "estimate_fen": 30_000, "centre_id": "centre-c-hexi"}
IDS = itertools.count()


def event(type, subject, **data):
    return new_event(CATALOGUE, type, CATALOGUE.producer_of(type), subject, data, "c")


def dispatched(petition_id, estimate=30_000, round=1):
    return event("petition.dispatched.v1", petition_id, petition_id=petition_id, grid_id="g01",
                 community_id="c-hexi", category="drains", round=round, rule_id="r",
                 handler={"kind": "volunteer_team", "team_id": "t", "name": "T"},
                 funding={**FUNDING, "estimate_fen": estimate}, acknowledge_by=now(),
                 due_by=now() + timedelta(days=3))


def completed(petition_id, cost, estimate=30_000, round=1):
    return event("task.completed.v1", petition_id, task_id=f"T-{petition_id}-{round}",
                 petition_id=petition_id, round=round, team_id="t", volunteer_id="v",
                 hours=1.0, cost_fen=cost, funding={**FUNDING, "estimate_fen": estimate},
                 verified_by="g01-grid_leader")


def returned(petition_id, round=2):
    return event("petition.returned.v1", petition_id, petition_id=petition_id, grid_id="g01",
                 community_id="c-hexi", category="drains", location={"lat": 30.0, "lng": 120.0},
                 round=round, actor="t", reason="not ours", previous_handler=None,
                 return_reason="not_our_duty")


def allocate(api, amount, line="public_infrastructure"):
    response = api.post("/allocations", json={
        "allocation_id": f"alloc-{next(IDS)}", "department_id": "housing", "budget_line": line,
        "fiscal_year": 2026, "amount_fen": amount, "approved_by": "county finance bureau"})
    assert response.status_code == 201, response.text
    return response.json()


def balance(api, account):
    return api.get(f"/accounts/{account}").json()["balance_fen"]


def kinds(api, petition_id):
    return sorted(t["kind"] for t in api.get("/transactions", params={
        "petition_id": petition_id}).json()["transactions"])


def test_a_hold_on_dispatch_is_captured_once_on_completion_even_when_duplicated(serve, broker):
    api = serve(FundingService)
    allocate(api, 100_000)
    broker.publish_event(dispatched("P-1"))
    poll(lambda: balance(api, HELD) == 30_000, what="the hold")
    done = completed("P-1", 28_000)
    for _ in range(3):
        broker.publish_event(done)
    broker.publish_event({**done, "id": "a-replay-with-a-new-id"})
    poll(lambda: balance(api, "centre-c-hexi") == 28_000, what="the capture")
    poll(lambda: kinds(api, "P-1") == ["capture", "hold"], what="one hold and one capture")
    assert balance(api, LINE) == 72_000 and balance(api, HELD) == 0
    assert api.get("/reconciliation").json()["reconciled"] is True


def test_a_completion_arriving_before_its_dispatch_still_holds_then_captures_once(serve, broker):
    api = serve(FundingService)
    allocate(api, 100_000)
    broker.publish_event(completed("P-2", 25_000))
    poll(lambda: balance(api, "centre-c-hexi") == 25_000, what="the capture")
    broker.publish_event(dispatched("P-2"))
    poll(lambda: api.get("/reconciliation").json()["transactions"] == 3, what="all handled")
    assert kinds(api, "P-2") == ["capture", "hold"] and balance(api, HELD) == 0


def test_a_returned_order_releases_its_hold(serve, broker):
    api = serve(FundingService)
    allocate(api, 100_000)
    broker.publish_event(dispatched("P-3"))
    poll(lambda: balance(api, HELD) == 30_000, what="the hold")
    broker.publish_event(returned("P-3"))
    poll(lambda: balance(api, HELD) == 0, what="the release")
    assert balance(api, LINE) == 100_000 and kinds(api, "P-3") == ["hold", "release"]


def test_a_short_line_blocks_the_order_tells_the_department_and_a_top_up_unblocks_it(serve, broker):
    api = serve(FundingService)
    allocate(api, 10_000)
    broker.publish_event(dispatched("P-4"))
    blocked = poll(lambda: api.get("/departments/housing/notices").json()["blocked"],
                   what="the department's notice")
    assert blocked[0]["order"]["order_id"] == "P-4/1" and blocked[0]["available_fen"] == 10_000
    assert balance(api, LINE) == 10_000  # never overdrawn
    top_up = allocate(api, 50_000)
    assert top_up["unblocked"] == ["P-4/1"]
    assert balance(api, HELD) == 30_000 and api.get("/departments/housing/notices").json()[
        "blocked"] == []


def test_a_cost_above_the_hold_is_captured_only_once_approved(serve, broker):
    api = serve(FundingService)
    allocate(api, 100_000)
    broker.publish_event(dispatched("P-5"))
    poll(lambda: balance(api, HELD) == 30_000, what="the hold")
    broker.publish_event(completed("P-5", 36_000))
    poll(lambda: api.post("/approvals", json={
        "petition_id": "P-5", "round": 1, "amount_fen": 1, "approved_by": "x"}).status_code
        == 422, what="the approval request")
    assert balance(api, "centre-c-hexi") == 0
    approved = api.post("/approvals", json={"petition_id": "P-5", "round": 1, "amount_fen": 36_000,
                                            "approved_by": "housing bureau director"})
    assert approved.status_code == 201, approved.text
    assert balance(api, "centre-c-hexi") == 36_000 and balance(api, LINE) == 64_000
    assert approved.json()["approval"]["approved_by"] == "housing bureau director"


def test_a_correction_is_a_reversal_and_statements_and_the_export_show_every_phase(serve, broker):
    api = serve(FundingService)
    allocate(api, 100_000)
    broker.publish_event(dispatched("P-6"))
    broker.publish_event(completed("P-6", 20_000))
    poll(lambda: balance(api, "centre-c-hexi") == 20_000, what="the capture")
    reversed_ = api.post("/transactions/capture:P-6/1/reversal", json={
        "reason": "paid to the wrong centre", "approved_by": "auditor"})
    assert reversed_.status_code == 201, reversed_.text
    assert api.post("/transactions/capture:P-6/1/reversal", json={
        "reason": "again", "approved_by": "auditor"}).status_code == 409
    assert balance(api, "centre-c-hexi") == 0
    statement = api.get("/statements", params={"department_id": "housing",
                                               "fiscal_year": 2026}).json()
    assert set(statement["totals_fen"]) == {"approved", "committed", "executed"}
    rows = list(csv.DictReader(io.StringIO(api.get("/export/budget.csv").text)))
    assert [r["phase"] for r in rows] == ["approved", "committed", "executed", "executed"]
    assert rows[-1]["amount"] == "-200.00"
    assert api.get("/reconciliation").json()["reconciled"] is True


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(histories=st.lists(st.tuples(st.integers(1_000, 40_000), st.integers(0, 45_000),
                                    st.sampled_from(["complete", "return", "duplicate"])),
                          min_size=1, max_size=5))
def test_any_history_on_the_real_ledger_reconciles_and_never_overdraws(serve_once, histories):
    api, broker = serve_once
    petitions = []
    for estimate, cost, fate in histories:
        petition_id = f"H-{next(IDS)}"
        petitions.append(petition_id)
        broker.publish_event(dispatched(petition_id, estimate))
        if fate == "return":
            broker.publish_event(returned(petition_id))
        elif cost:
            done = completed(petition_id, cost, estimate)
            broker.publish_event(done)
            if fate == "duplicate":
                broker.publish_event(done)
    poll(lambda: all(api.get("/transactions", params={"petition_id": p}).json()["transactions"]
                     or api.get("/departments/housing/notices").json()["blocked"]
                     for p in petitions), what="every order handled")
    poll(lambda: api.get("/reconciliation").json()["reconciled"], what="a reconciled ledger")
    assert balance(api, LINE) >= 0
    report = api.get("/reconciliation").json()
    assert report["trial_balance_fen"] == 0 and report["orders_not_settled_exactly_once"] == []
