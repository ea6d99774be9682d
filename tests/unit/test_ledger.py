"""The funding ledger: hold on dispatch, one capture on verified completion, release when
the order goes back; integer fen that always balance; corrections only by reversal.
Includes property-based tests (hypothesis) of the invariants over random histories."""

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.funding import domain
from shared.errors import Conflict
from shared.events import Event

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
FUNDING = {"department_id": "housing", "budget_line": "public_infrastructure",
           "fiscal_year": 2026, "estimate_fen": 30_000, "centre_id": "centre-c-hexi"}
LINE = "dept:housing:public_infrastructure:2026"
HELD = "held:housing:public_infrastructure:2026"
CAUSE = Event(id="e1", source="volunteer", type="task.completed.v1", subject="P-1", time=NOW,
              correlationid="c", causationid=None, data={})


def order(n=1, estimate=30_000):
    return {"order_id": f"P-{n}/1", "petition_id": f"P-{n}", "round": 1, "task_id": f"T-P-{n}-1",
            "grid_id": "g01", "community_id": "c-hexi", "correlation_id": "c",
            "funding": {**FUNDING, "estimate_fen": estimate}}


def balances(transactions):
    totals = {}
    for t in transactions:
        for p in t["postings"]:
            totals[p["account"]] = totals.get(p["account"], 0) + p["amount_fen"]
    return totals


def allocation(amount, n=1):
    return domain.allocate({"allocation_id": f"a{n}", "department_id": "housing",
                            "budget_line": "public_infrastructure", "fiscal_year": 2026,
                            "amount_fen": amount, "approved_by": "finance bureau"}, NOW)


def test_a_hold_commits_the_estimate_from_the_line_and_every_entry_carries_its_classification():
    hold, [event] = domain.hold(order(), 100_000, NOW, CAUSE)
    assert balances([hold]) == {LINE: -30_000, HELD: 30_000}
    assert all(p["currency"] == "CNY" and p["fiscal_year"] == 2026 and p["phase"] == "committed"
               and p["budget_line"] == "public_infrastructure" for p in hold["postings"])
    assert event["type"] == "funds.held.v1" and hold["_id"] == "hold:P-1/1"


def test_a_line_that_cannot_cover_the_hold_is_never_overdrawn():
    with pytest.raises(domain.InsufficientFunds) as short:
        domain.hold(order(), 29_999, NOW, CAUSE)
    assert short.value.details == {"available_fen": 29_999, "needed_fen": 30_000}
    record, [event] = domain.blocked(order(), "hold", short.value, NOW, CAUSE)
    assert record["state"] == "blocked" and event["type"] == "funds.blocked.v1"


@pytest.mark.parametrize("cost, line_back", [(28_000, 2_000), (30_000, 0)])
def test_a_capture_is_one_transfer_of_the_cost_with_the_rest_of_the_hold_given_back(cost, line_back):
    capture, [settled] = domain.capture(order(), cost, 30_000, 0, None, NOW, CAUSE)
    assert balances([capture]) == {"centre-c-hexi": cost, HELD: -30_000,
                                   **({LINE: line_back} if line_back else {})}
    assert settled["type"] == "funds.settled.v1" and settled["data"]["amount_fen"] == cost


def test_a_cost_above_the_hold_waits_for_a_recorded_approval():
    transaction, [requested] = domain.capture(order(), 35_000, 30_000, 100_000, None, NOW, CAUSE)
    assert transaction is None and requested["type"] == "funds.approval_requested.v1"
    approval = {"approved_by": "housing bureau director", "at": NOW.isoformat()}
    capture, _ = domain.capture(order(), 35_000, 30_000, 100_000, approval, NOW, CAUSE)
    assert balances([capture]) == {"centre-c-hexi": 35_000, HELD: -30_000, LINE: -5_000}
    assert capture["approval"] == approval
    with pytest.raises(domain.InsufficientFunds):
        domain.capture(order(), 35_000, 30_000, 4_999, approval, NOW, CAUSE)


def test_a_release_gives_the_whole_hold_back():
    release, [event] = domain.release(order(), 30_000, NOW, CAUSE, "the petition was returned")
    assert balances([release]) == {HELD: -30_000, LINE: 30_000}
    assert event["type"] == "funds.released.v1"


def test_corrections_are_reversing_entries_and_a_reversal_is_not_reversed():
    capture, _ = domain.capture(order(), 28_000, 30_000, 0, None, NOW, CAUSE)
    correction = domain.reversal(capture, "wrong centre", "auditor", NOW)
    assert balances([capture, correction]) == {"centre-c-hexi": 0, HELD: 0, LINE: 0}
    with pytest.raises(Conflict):
        domain.reversal(correction, "again", "auditor", NOW)


def test_the_reconciliation_finds_an_order_settled_twice():
    first, _ = domain.capture(order(), 28_000, 30_000, 0, None, NOW, CAUSE)
    report = domain.reconcile([allocation(100_000), first])
    assert report["reconciled"] and report["settled_cost_fen"] == 28_000
    twice = domain.reconcile([first, {**first, "_id": "capture:P-1/1-copy"}])
    assert twice["orders_not_settled_exactly_once"] == ["P-1/1"] and not twice["reconciled"]


def test_the_reconciliation_finds_a_line_whose_last_link_disagrees_with_its_postings():
    def link(transaction, seq, balance):
        return {**transaction, "guard": {"account": LINE, "seq": seq, "balance": balance}}

    held, _ = domain.hold(order(), 100_000, NOW, CAUSE)
    chained = [link(allocation(100_000), 1, 100_000), link(held, 2, 70_000)]
    assert domain.reconcile(chained)["reconciled"]
    broken = domain.reconcile([chained[0], link(held, 2, 80_000)])
    assert broken["lines_whose_last_link_disagrees"] == [LINE] and not broken["reconciled"]


def test_the_budget_export_has_the_fiscal_data_package_phases():
    hold, _ = domain.hold(order(), 100_000, NOW, CAUSE)
    capture, _ = domain.capture(order(), 28_000, 30_000, 0, None, NOW, CAUSE)
    rows = list(domain.fdp_rows([allocation(100_000), hold, capture]))
    assert [(r["phase"], r["amount"]) for r in rows] == [
        ("approved", "1000.00"), ("committed", "300.00"), ("executed", "280.00")]
    assert rows[2]["admin_classification"] == "housing"
    assert rows[2]["functional_classification"] == "public_infrastructure"


# Properties: whatever happens to a line, in any order, the ledger holds together.

ORDERS = st.lists(st.tuples(st.integers(1, 50_000), st.integers(0, 60_000),
                            st.sampled_from(["complete", "return", "nothing"])),
                  min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(budget=st.integers(1, 200_000), orders=ORDERS)
def test_no_history_overdraws_a_line_or_unbalances_the_ledger(budget, orders):
    ledger = [allocation(budget)]
    for n, (estimate, cost, fate) in enumerate(orders):
        o = order(n, estimate)
        try:
            ledger.append(domain.hold(o, balances(ledger).get(LINE, 0), NOW, CAUSE)[0])
            held = estimate
        except domain.InsufficientFunds:
            held = 0
        if fate == "return" and held:
            ledger.append(domain.release(o, held, NOW, CAUSE, "returned")[0])
        elif fate == "complete" and cost:
            try:
                capture, _ = domain.capture(o, cost, held, balances(ledger).get(LINE, 0),
                                            {"approved_by": "director"}, NOW, CAUSE)
                ledger.append(capture)
            except domain.InsufficientFunds:
                pass
        assert balances(ledger).get(LINE, 0) >= 0
    totals = balances(ledger)
    assert all(sum(p["amount_fen"] for p in t["postings"]) == 0 for t in ledger)
    assert sum(totals.values()) == 0
    report = domain.reconcile(ledger)
    assert report["reconciled"], report
    closed = {t["order_id"] for t in ledger if t["kind"] in ("capture", "release")}
    open_holds = sum(domain.held_amount(t) for t in ledger
                     if t["kind"] == "hold" and t["order_id"] not in closed)
    assert totals.get(HELD, 0) == open_holds  # what is held is exactly the open orders' holds


def test_a_period_ending_at_midnight_on_the_first_does_not_touch_the_next_month():
    assert domain.months_between("2026-09-15T00:00:00+00:00", "2026-11-01T00:00:00+00:00") \
        == ["2026-09", "2026-10"]
    assert domain.months_between("2025-12-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00") \
        == ["2025-12"]
    assert domain.months_between("2026-10-01T00:00:00+00:00", "2026-11-01T00:00:01+00:00") \
        == ["2026-10", "2026-11"]


def test_a_month_is_rolled_up_only_once_it_is_over_by_every_pods_clock():
    end = datetime(2026, 11, 1, tzinfo=UTC)
    assert not domain.may_roll_up("2026-10", end)
    assert domain.may_roll_up("2026-10", end + domain.CLOCK_SKEW)
    assert domain.may_be_rolled_up("2026-10", end - domain.CLOCK_SKEW)
    assert not domain.may_be_rolled_up("2026-10", end - 2 * domain.CLOCK_SKEW)
    assert domain.covers_month("2026-09-30T16:00:00+00:00", "2026-11-01T00:00:00+00:00", "2026-10")
    assert not domain.covers_month("2026-10-01T00:00:00+00:00", "2026-10-31T16:00:00+00:00",
                                   "2026-10")


def test_the_month_to_roll_up_is_the_one_that_ended_once_every_pods_clock_has_passed_it():
    assert domain.month_to_roll_up(datetime(2026, 12, 3, tzinfo=UTC)) == "2026-11"
    assert domain.month_to_roll_up(datetime(2027, 1, 1, 0, 20, tzinfo=UTC)) == "2026-12"
    assert domain.month_to_roll_up(datetime(2026, 12, 1, 0, 5, tzinfo=UTC)) is None
