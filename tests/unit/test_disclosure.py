"""Public disclosure (居务公开): what a community's public page keeps of each event, how
its money adds up, and that nothing personal reaches the page or its JSON feed."""

import json
import random
import re
from datetime import UTC, datetime, timedelta

from services.grid import disclosure, disclosure_html
from services.grid.schemas import DisclosedCommunity
from shared.catalogue import CATALOGUE

TODAY = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
COMMUNITY = {"id": "c-hexi", "name": "河西社区 Hexi", "type": "industrial"}
GRIDS = [{"id": "g01", "name": "第一网格"}]
# What residents and staff wrote that must never be shown.
PERSONAL = ("Wang Fang", "13800138000", "wang@example.com", "5 Hexi Lane", "vol-17",
            "30.2745", "team-a")


class Log:
    """Events as the disclosure log keeps them: admitted data only."""

    def __init__(self):
        self.events = []

    def add(self, type, at, **data):
        event = {"type": type, "time": at.isoformat(), "id": f"e{len(self.events):03d}",
                 "data": disclosure.admit(type, data)}
        self.events.append(event)
        return event

    def of(self, subject):
        return [e for e in self.events
                if disclosure.subject_of(e["type"], e["data"]) == subject]


def dispatched(log, at, petition_id, category="drains"):
    log.add("petition.dispatched.v1", at, petition_id=petition_id, round=1, grid_id="g01",
            community_id="c-hexi", category=category, rule_id="r1",
            handler={"kind": "volunteer_team", "team_id": "team-a", "name": "Wang Fang"},
            funding={"department_id": "housing", "budget_line": "sanitation",
                     "centre_id": "centre-c-hexi", "fiscal_year": 2026, "estimate_fen": 100})


def settled(log, at, petition_id, amount, line="sanitation", settlement_id=None):
    log.add("funds.settled.v1", at, settlement_id=settlement_id or f"S-{petition_id}",
            petition_id=petition_id, task_id=f"T-{petition_id}", department_id="housing",
            budget_line=line, fiscal_year=2026, centre_id="centre-c-hexi", amount_fen=amount,
            currency="CNY")


def test_only_the_allowed_fields_of_an_event_are_kept_and_free_text_is_dropped():
    kept = disclosure.admit("funds.blocked.v1", {
        "petition_id": "P1", "round": 1, "department_id": "housing",
        "budget_line": "sanitation", "fiscal_year": 2026, "amount_fen": 500,
        "currency": "CNY", "stage": "hold", "available_fen": 0,
        "reason": "Wang Fang (13800138000) asked for it"})
    assert kept == {"petition_id": "P1", "round": 1, "department_id": "housing",
                    "budget_line": "sanitation", "fiscal_year": 2026, "amount_fen": 500,
                    "stage": "hold"}
    assert disclosure.admit("proposal.reviewed.v1", {
        "proposal_id": "R1", "community_id": "c-hexi", "state": "awaiting_vote",
        "decision": "endorse", "opinion": "Call Wang Fang on 13800138000"}) == {
        "proposal_id": "R1", "community_id": "c-hexi", "state": "awaiting_vote",
        "decision": "endorse"}


def test_every_allowed_field_is_one_its_event_carries():
    for event_type, fields in disclosure.KEPT.items():
        assert set(fields) <= set(CATALOGUE.schema_for(event_type)().fields), event_type


def test_a_settlement_counts_once_however_often_it_is_announced_and_in_any_order():
    log = Log()
    dispatched(log, TODAY - timedelta(days=3), "P1")
    settled(log, TODAY - timedelta(days=1), "P1", 12_000)
    settled(log, TODAY, "P1", 12_000)  # the same settlement, announced again
    events = log.of("order:P1")
    folds = {json.dumps(disclosure.fold_order("P1", random.sample(events, len(events))),
                        sort_keys=True) for _ in range(10)}
    assert len(folds) == 1
    order = json.loads(folds.pop())
    assert [s["amount_fen"] for s in order["settlements"]] == [12_000]
    assert (order["community_id"], order["category"]) == ("c-hexi", "drains")


def test_a_settlement_announced_again_later_is_folded_in_alone_and_still_counts_once():
    log = Log()
    dispatched(log, TODAY - timedelta(days=3), "P1")
    settled(log, TODAY - timedelta(days=1), "P1", 12_000)
    settled(log, TODAY, "P1", 12_000)
    first, *rest = sorted(log.of("order:P1"), key=lambda e: (e["time"], e["id"]))
    order = disclosure.fold_order("P1", [first])
    for event in rest:
        order = disclosure.fold_in("order", "P1", order, event, log=log_not_read)
    assert order == disclosure.fold_order("P1", log.of("order:P1"))
    assert [s["amount_fen"] for s in order["settlements"]] == [12_000]


def log_not_read():
    raise AssertionError("an event that follows the document is folded in alone")


def test_money_is_totalled_by_budget_line_and_local_month_within_the_twelve_months():
    log = Log()
    for n, (at, amount, line) in enumerate([
            (datetime(2026, 11, 2, tzinfo=UTC), 10_000, "sanitation"),
            # 01:00 on 1 November in Shanghai: November's, not October's
            (datetime(2026, 10, 31, 17, 0, tzinfo=UTC), 2_550, "public_infrastructure"),
            (datetime(2026, 10, 31, 15, 0, tzinfo=UTC), 700, "sanitation"),
            (datetime(2025, 11, 30, tzinfo=UTC), 99_999, "sanitation")]):  # before the window
        dispatched(log, at - timedelta(days=1), f"P{n}")
        settled(log, at, f"P{n}", amount, line)
    orders = [disclosure.fold_order(f"P{n}", log.of(f"order:P{n}")) for n in range(4)]
    months = disclosure.months_up_to(TODAY)
    money = disclosure.received(orders, months)
    assert (months[0], months[-1], len(months)) == ("2025-12", "2026-11", 12)
    assert money["total_fen"] == 13_250
    assert money["by_line"] == [{"budget_line": "public_infrastructure", "amount_fen": 2_550},
                                {"budget_line": "sanitation", "amount_fen": 10_700}]
    by_month = {m["month"]: m for m in money["by_month"]}
    assert by_month["2026-11"]["amount_fen"] == 12_550
    assert by_month["2026-10"]["lines"] == [{"budget_line": "sanitation", "amount_fen": 700}]
    assert by_month["2026-01"] == {"month": "2026-01", "amount_fen": 0, "lines": []}
    assert money["orders"][0] == {"on": "2026-11-02", "category": "drains",
                                  "department_id": "housing", "budget_line": "sanitation",
                                  "fiscal_year": 2026, "amount_fen": 10_000}


def test_the_rates_cover_every_month_of_the_window_even_one_with_nothing_dispatched():
    units = [{"at": datetime(2026, 11, 3, tzinfo=UTC).isoformat(), "on_time": True,
              "resolved": True, "satisfied": True},
             {"at": datetime(2026, 9, 3, tzinfo=UTC).isoformat(), "on_time": False,
              "resolved": True, "satisfied": None}]
    found = disclosure.rates(units, disclosure.months_up_to(TODAY))
    assert found["month"]["period"] == "2026-11" and found["month"]["response_rate"] == 1.0
    assert len(found["trend"]) == 12
    by_month = {m["period"]: m for m in found["trend"]}
    assert by_month["2026-09"]["response_rate"] == 0.0
    assert by_month["2026-10"]["dispatched"] == 0 and by_month["2026-10"]["response_rate"] is None


def public_page():
    """A community whose residents and staff wrote personal data everywhere they could."""
    log = Log()
    day = TODAY - timedelta(days=10)
    log.add("proposal.submitted.v1", day, proposal_id="R1", community_id="c-hexi",
            state="under_review", title="<script>alert(1)</script> Install a lift")
    log.add("proposal.reviewed.v1", day + timedelta(days=1), proposal_id="R1",
            community_id="c-hexi", state="awaiting_vote", decision="endorse",
            opinion="Wang Fang of 5 Hexi Lane, 13800138000, wang@example.com")
    log.add("proposal.voted.v1", day + timedelta(days=2), proposal_id="R1",
            community_id="c-hexi", state="on_notice", motion="adopt", members=25, present=18,
            in_favour=12, against=4, abstaining=2, quorate=True, carried=True)
    log.add("proposal.objected.v1", day + timedelta(days=3), proposal_id="R1",
            community_id="c-hexi", state="on_notice", objection_id="O1")
    log.add("proposal.concluded.v1", day + timedelta(days=9), proposal_id="R1",
            community_id="c-hexi", state="adopted", outcome="adopted")
    dispatched(log, day, "P1")
    settled(log, day + timedelta(days=2), "P1", 12_000)
    dispatched(log, day, "P2", category="street_lighting")
    log.add("funds.blocked.v1", day + timedelta(days=1), petition_id="P2", round=1,
            department_id="housing", budget_line="public_infrastructure", fiscal_year=2026,
            amount_fen=50_000, currency="CNY", stage="hold", available_fen=0,
            reason="vol-17 told Wang Fang at 30.2745, team-a")
    proposals = [disclosure.fold_proposal("R1", log.of("proposal:R1"))]
    orders = [disclosure.fold_order(p, log.of(f"order:{p}")) for p in ("P1", "P2")]
    return DisclosedCommunity().dump(disclosure.community_page(
        COMMUNITY, GRIDS, [], proposals, orders, TODAY))


def test_the_page_shows_votes_notices_and_money_but_no_personal_data():
    view = public_page()
    proposal = view["proposals"][0]
    assert (proposal["state"], proposal["objections"]) == ("adopted", 1)
    assert proposal["votes"][0]["in_favour"] == 12 and proposal["votes"][0]["carried"]
    assert [n["kind"] for n in view["notices"]] == [
        "proposal_concluded", "proposal_on_notice", "funding_blocked"]
    assert view["notices"][-1]["category"] == "street_lighting"
    assert view["received"]["total_fen"] == 12_000
    feed = json.dumps(view, ensure_ascii=False)
    html = disclosure_html.page(view).get_data(as_text=True)
    for text in PERSONAL + ("P1", "P2", "S-P1"):
        assert text not in feed and text not in html, text


def test_a_title_with_markup_is_shown_as_text():
    html = disclosure_html.page(public_page()).get_data(as_text=True)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Install a lift" in html


def test_the_page_loads_nothing_from_another_site():
    for name in ("page.html", "page.css"):
        text = (disclosure_html.FILES / name).read_text()
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.IGNORECASE), name
