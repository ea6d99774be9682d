"""The funding ledger on the real Mongo-wire server: every debit of a budget line takes
the line's next number, including a capture that posts nothing to the line, so
concurrent settlements on one line all go through and never overdraw it."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from services.funding import domain
from services.funding.store import FundingStore
from tests.integration.test_statement_totals import START, order

LINE = domain.line_account("housing", "public_infrastructure", 2026)


@pytest.fixture
def store(db_of):
    found = FundingStore(db_of("funding"))
    found.ensure_indexes()
    found.post(domain.allocate({"allocation_id": "a", "department_id": "housing",
                                "budget_line": "public_infrastructure", "fiscal_year": 2026,
                                "amount_fen": 1_000_000, "approved_by": "bureau"},
                               START - timedelta(days=1)))
    return found


def hold(store, n):
    held, cause = order(n)
    return store.post_debit(f"hold:{held['order_id']}", LINE,
                            lambda available: domain.hold(held, available, START, cause))


def capture(store, n, cost=30_000):
    held, cause = order(n)
    return store.post_debit(f"capture:{held['order_id']}", LINE,
                            lambda available: domain.capture(held, cost, 30_000, available,
                                                             None, START, cause))


def numbers(store):
    return sorted(t["guard"]["seq"] for t in store.db.transactions.find({"guard.account": LINE}))


def test_a_capture_that_spends_exactly_its_hold_takes_the_lines_next_number(store):
    hold(store, 1)
    spent = capture(store, 1)
    assert not any(p["account"] == LINE for p in spent["postings"])
    assert LINE in store.transaction(spent["_id"])["accounts"]
    assert hold(store, 2)["guard"]["seq"] == 3
    assert numbers(store) == [1, 2, 3]


def test_a_number_taken_by_a_debit_recorded_without_the_line_listed_is_not_claimed_again(store):
    hold(store, 1)
    spent = capture(store, 1)
    # As a capture was recorded before its accounts listed the line it is numbered on.
    store.db.transactions.update_one({"_id": spent["_id"]}, {"$pull": {"accounts": LINE}})
    assert hold(store, 2)["guard"]["seq"] == 3
    assert hold(store, 3)["guard"]["seq"] == 4


def test_concurrent_settlements_on_one_line_all_go_through_each_with_its_own_number(store):
    for n in range(8):
        hold(store, n)
    with ThreadPoolExecutor(8) as pool:
        settled = list(pool.map(lambda n: capture(store, n, cost=30_000 - n), range(8)))
    assert all(settled)
    assert numbers(store) == list(range(1, 17))
    assert store.balance(LINE) == 1_000_000 - sum(30_000 - n for n in range(8))
