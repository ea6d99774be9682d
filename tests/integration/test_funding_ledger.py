"""The funding ledger on the real Mongo-wire server: every transaction that posts to a
budget line is the next link of the line's chain and carries the line's balance after
it, so what a line has available is read from its last link, and concurrent holds and
settlements on one line all get their turn without ever overdrawing it."""

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from datetime import timedelta

import pytest
from pymongo import MongoClient

from services.funding import domain
from services.funding.store import FundingStore
from shared import ledger
from tests.conftest import Commands
from tests.integration.test_statement_totals import START, order

LINE = domain.line_account("housing", "public_infrastructure", 2026)
HELD = domain.held_of(LINE)


@pytest.fixture
def store(db_of):
    found = FundingStore(db_of("funding"))
    found.ensure_indexes()
    found.post(allocation("a", 1_000_000))
    return found


def allocation(id, fen):
    return domain.allocate({"allocation_id": id, "department_id": "housing",
                            "budget_line": "public_infrastructure", "fiscal_year": 2026,
                            "amount_fen": fen, "approved_by": "bureau"},
                           START - timedelta(days=1))


def hold(store, n, estimate=30_000):
    held, cause = order(n)
    held["funding"]["estimate_fen"] = estimate
    return store.post_on_line(f"hold:{held['order_id']}", LINE,
                              lambda available: domain.hold(held, available, START, cause))


def capture(store, n, cost=30_000):
    held, cause = order(n)
    return store.post_on_line(f"capture:{held['order_id']}", LINE,
                              lambda available: domain.capture(held, cost, 30_000, available,
                                                               None, START, cause))


@pytest.fixture
def as_replicas(monkeypatch):
    """Concurrent builders that race as separate processes would: this process's builders
    take turns on a chain (``ledger._chain_turns``); replicas do not."""
    monkeypatch.setattr(ledger, "_chain_turns", defaultdict(nullcontext))


def links(store):
    return sorted((t["guard"]["seq"], t["guard"]["balance"])
                  for t in store.db.transactions.find({"guard.account": LINE}))


def test_each_posting_to_a_line_is_the_next_link_and_carries_the_balance_after_it(store):
    hold(store, 1)
    capture(store, 1, cost=20_000)
    hold(store, 2)
    assert store.post(*domain.release(order(2)[0], 30_000, START, None, "returned"))
    assert links(store) == [(1, 1_000_000), (2, 970_000), (3, 980_000), (4, 950_000),
                            (5, 980_000)]
    assert store.balance(LINE) == store.summed_balance(LINE) == 980_000


def test_each_link_carries_what_its_line_has_on_hold_after_it(store):
    hold(store, 1)
    hold(store, 2, estimate=50_000)
    capture(store, 1)
    assert store.post(*domain.release(order(2)[0], 50_000, START, None, "returned"))
    hold(store, 3)
    assert [t["guard"]["tracked"] for t in store.db.transactions.find(
        {"guard.account": LINE, "guard.seq": {"$gt": 1}}).sort("guard.seq")] == [
        [{"account": HELD, "balance": fen}] for fen in (30_000, 80_000, 50_000, 0, 30_000)]
    assert store.held_balances() == {HELD: 30_000} and store.summed_balance(HELD) == 30_000


def test_the_reversal_of_a_capture_that_spent_exactly_its_hold_is_a_link_of_the_line(store):
    hold(store, 1)
    spent = capture(store, 1)
    reversal = domain.reversal(spent, "wrong centre", "bureau", START)
    assert domain.line_of(reversal) == LINE
    store.post(reversal)
    assert store.transaction(reversal["_id"])["guard"]["seq"] == 4
    assert store.held_balances() == {HELD: 30_000} and store.summed_balance(HELD) == 30_000


def test_a_capture_that_spends_exactly_its_hold_takes_the_lines_next_number(store):
    hold(store, 1)
    spent = capture(store, 1)
    assert not any(p["account"] == LINE for p in spent["postings"])
    assert LINE in store.transaction(spent["_id"])["accounts"]
    assert hold(store, 2)["guard"]["seq"] == 4
    assert [seq for seq, _ in links(store)] == [1, 2, 3, 4]


def test_the_next_link_of_a_line_this_process_extended_reads_only_whether_another_came(
        store, infrastructure):
    hold(store, 1)
    commands = Commands()
    client = MongoClient(infrastructure["MONGO_URI"], tz_aware=True, event_listeners=[commands])
    try:
        watched = FundingStore(client[store.db.name])
        held, cause = order(2)
        watched.post_on_line(f"hold:{held['order_id']}", LINE,
                             lambda available: domain.hold(held, available, START, cause))
    finally:
        client.close()
    looked_up = [f["guard_key"] for f in commands.find_filters if "guard_key" in f]
    assert looked_up == [ledger.guard_key(LINE, 3)]  # 1 the allocation, 2 the first hold
    assert [seq for seq, _ in links(store)] == [1, 2, 3]


def test_a_line_recorded_before_chains_continues_from_the_sum_of_its_postings(store):
    hold(store, 1)
    spent = capture(store, 1)
    # As the foundation release left them: no balances on the links, no keys to find
    # them by, and a capture numbered on the line without listing it.
    store.db.transactions.update_many({}, {"$unset": {"guard.balance": "", "guard_key": "",
                                                      "guard.tracked": ""}})
    store.db.transactions.update_one({"_id": spent["_id"]}, {"$pull": {"accounts": LINE}})
    ledger._chain_ends.clear()  # a service started on that database
    assert hold(store, 2)["guard"] == {"account": LINE, "seq": 4, "balance": 940_000,
                                       "tracked": [{"account": HELD, "balance": 30_000}]}
    assert hold(store, 3)["guard"]["seq"] == 5
    assert store.balance(LINE) == store.summed_balance(LINE) == 910_000


def test_concurrent_settlements_on_one_line_all_go_through_each_with_its_own_number(
        store, as_replicas):
    for n in range(8):
        hold(store, n)
    with ThreadPoolExecutor(8) as pool:
        settled = list(pool.map(lambda n: capture(store, n, cost=30_000 - n), range(8)))
    assert all(settled)
    assert [seq for seq, _ in links(store)] == list(range(1, 18))
    assert store.balance(LINE) == store.summed_balance(LINE) \
        == 1_000_000 - sum(30_000 - n for n in range(8))
    assert store.held_balances() == {HELD: 0}


def test_concurrent_holds_never_overdraw_a_line(store, as_replicas):
    hold(store, 99, estimate=899_999)  # leaves the line 100,001 fen

    def try_hold(n):
        try:
            return bool(hold(store, n))
        except domain.InsufficientFunds:
            return False

    with ThreadPoolExecutor(8) as pool:
        held = list(pool.map(try_hold, range(8)))
    assert held.count(True) == 3
    assert store.balance(LINE) == store.summed_balance(LINE) == 10_001


def test_one_process_posting_on_a_line_at_once_takes_turns_and_no_insert_fails(
        store, infrastructure):
    commands = Commands()
    client = MongoClient(infrastructure["MONGO_URI"], tz_aware=True, event_listeners=[commands])
    try:
        watched = FundingStore(client[store.db.name])
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda n: hold(watched, n), range(8)))
    finally:
        client.close()
    assert commands.targets.count(("insert", "transactions")) == 8
    assert [seq for seq, _ in links(store)] == list(range(1, 10))
