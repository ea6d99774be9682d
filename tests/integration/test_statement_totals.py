"""Statements at any size: their totals are summed from totals kept per department and
day, to which each posting is added once, and their lines come a page at a time.
Each rule is checked against the plain sum over every posting (domain.statement)."""

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from services.funding import domain
from services.funding.store import FundingStore
from shared.catalogue import CATALOGUE
from shared.events import load_event, new_event

START = datetime(2026, 10, 1, tzinfo=UTC)


def funding(department="housing", line="public_infrastructure"):
    return {"department_id": department, "budget_line": line, "fiscal_year": 2026,
            "estimate_fen": 30_000, "centre_id": "centre-c1"}


def order(n, department="housing", grid="g1", community="c1"):
    data = {"petition_id": f"P-{n}", "grid_id": grid, "community_id": community,
            "category": "drains", "round": 1, "rule_id": "r",
            "handler": {"kind": "volunteer_team", "team_id": "t", "name": "T"},
            "funding": funding(department), "acknowledge_by": START,
            "due_by": START}
    event = load_event(CATALOGUE, new_event(CATALOGUE, "petition.dispatched.v1", "grid",
                                            f"P-{n}", data, "c"), "petition.dispatched.v1")
    return domain.order_from_dispatch(event.data, "c"), event


def post_history(store, count=12):
    """Allocations, holds and captures of two departments over three days, at all hours."""
    for department in ("housing", "sanitation"):
        store.post(domain.allocate({"allocation_id": f"a-{department}", "department_id": department,
                                    "budget_line": "public_infrastructure", "fiscal_year": 2026,
                                    "amount_fen": 10_000_000, "approved_by": "bureau"},
                                   START - timedelta(days=1)))
    for n in range(count):
        at = START + timedelta(hours=7 * n)
        department = ("housing", "sanitation")[n % 2]
        held, cause = order(n, department, grid=f"g{n % 3}", community=f"c{n % 2}")
        line = domain.line_account(department, "public_infrastructure", 2026)
        store.post_on_line(f"hold:{held['order_id']}", line,
                         lambda available, o=held, at=at, c=cause: domain.hold(o, available, at, c))
        if n % 3:
            store.post_on_line(f"capture:{held['order_id']}", line,
                             lambda available, o=held, at=at, c=cause, cost=20_000 + n:
                             domain.capture(o, cost, 30_000, available, None,
                                            at + timedelta(hours=2), c))


@pytest.fixture
def store(db_of):
    found = FundingStore(db_of("funding"))
    found.ensure_indexes()
    return found


def everything(store, where, start=None, end=None):
    return domain.statement(store.all_transactions(), where, start, end)


WHERES = [{"department_id": "housing"}, {"department_id": "sanitation", "phase": "executed"},
          {"department_id": "housing", "account": "centre-c1"}, {"community_id": "c0"},
          {"department_id": "housing", "grid_id": "g1"}, {"budget_line": "public_infrastructure"}]
OCTOBER = ("2026-10-01T00:00:00+00:00", "2026-11-01T00:00:00+00:00")
PERIODS = [(None, None), ("2026-10-01T00:00:00+00:00", "2026-10-03T00:00:00+00:00"), OCTOBER,
           ("2026-09-01T00:00:00+00:00", "2026-11-01T00:00:00+00:00"),
           ("2026-10-01T05:00:00+00:00", "2026-10-02T20:30:00+00:00"),
           ("2026-10-02T03:00:00+00:00", None), (None, "2026-10-02T00:00:00+00:00")]


@pytest.mark.parametrize("where", WHERES)
def test_statement_totals_equal_the_sum_of_their_postings(store, where):
    post_history(store)
    for start, end in PERIODS:
        found = store.statement(dict(where), start, end, limit=1000)
        expected = everything(store, where, start, end)
        assert found["totals_fen"] == expected["totals_fen"], (start, end)
        assert found["lines"] == expected["lines"], (start, end)


def test_a_reposted_transaction_does_not_count_twice_in_the_totals(store):
    post_history(store, count=4)
    before = store.statement({"department_id": "housing"}, None, None, limit=1000)
    hold = store.transaction("hold:P-0/1")
    assert store.post(hold) is False
    again, cause = order(0)
    line = domain.line_account("housing", "public_infrastructure", 2026)
    assert store.post_on_line("hold:P-0/1", line,
                            lambda available: domain.hold(again, available, START, cause)) is None
    assert store.statement({"department_id": "housing"}, None, None, limit=1000) == before


def test_a_day_lists_only_its_latest_posting_and_marks_the_others_counted(store, db_of):
    post_history(store, count=12)
    db = db_of("funding")
    for totals in db.day_totals.find():
        department, day = totals["_id"].split(":")
        postings = list(db.transactions.find({"department_id": department, "day": day}))
        unmarked = [t["_id"] for t in postings if not t.get("counted")]
        assert unmarked == [] and len(totals["counting"]) == 1
        assert totals["transactions"] == len(postings)


def test_a_delivery_that_read_its_posting_before_the_mark_does_not_count_it_again(store):
    post_history(store, count=6)
    before = store.statement({"department_id": "housing"}, None, None, limit=1000)
    first = store.transaction("hold:P-0/1")
    day = store.db.day_totals.find_one({"_id": f"housing:{first['day']}"})
    assert first["counted"] and first["_id"] not in day["counting"]

    store.add_to_totals({**first, "counted": False})
    assert store.statement({"department_id": "housing"}, None, None, limit=1000) == before


def test_a_month_that_is_over_is_summed_into_one_document_and_read_from_it(store, db_of):
    post_history(store)
    for where, key in (({"department_id": "housing"}, "housing:2026-10"),
                       ({"budget_line": "public_infrastructure"}, "*:2026-10")):
        for _ in range(2):  # rolling up, then reading the roll-up
            found = store.statement(dict(where), *OCTOBER, limit=1000)
            assert found["totals_fen"] == everything(store, where, *OCTOBER)["totals_fen"]
        rolled = db_of("funding").month_totals.find_one({"_id": key})
        assert rolled["days"] == Counter(t["day"] for t in store.all_transactions()
                                         if t["day"] >= "2026-10" and where.items() <= t.items())


def test_a_month_that_ended_is_rolled_up_for_each_department_and_for_all(store, db_of):
    post_history(store)
    store.roll_up("2026-10")
    rolled = {doc["_id"]: doc for doc in db_of("funding").month_totals.find()}
    assert {key for key, doc in rolled.items() if "groups" in doc} \
        == {"housing:2026-10", "sanitation:2026-10", "*:2026-10"}
    assert domain.phase_totals(json.loads(rolled["*:2026-10"]["groups"]), {}) \
        == everything(store, {}, *OCTOBER)["totals_fen"]


def test_a_late_posting_to_a_month_already_rolled_up_is_counted(store):
    post_history(store, count=4)
    line = domain.line_account("housing", "public_infrastructure", 2026)
    wheres = ({"department_id": "housing", "account": line}, {"account": line})
    before = [store.statement(dict(where), *OCTOBER, limit=1000)["totals_fen"]
              for where in wheres]
    held, cause = order(10)
    store.post_on_line("hold:P-10/1", line, lambda available: domain.hold(
        held, available, START + timedelta(days=20), cause))
    for where, earlier in zip(wheres, before, strict=True):
        found = store.statement(dict(where), *OCTOBER, limit=1000)["totals_fen"]
        assert found == everything(store, where, *OCTOBER)["totals_fen"] != earlier


class Crash(Exception):
    """The process died between a posting and its totals."""


def test_a_posting_whose_totals_a_crash_lost_is_counted_once_when_its_event_comes_again(
        store, monkeypatch):
    post_history(store, count=4)
    held, cause = order(10)
    line = domain.line_account("housing", "public_infrastructure", 2026)

    def post():
        return store.post_on_line("hold:P-10/1", line,
                                  lambda available: domain.hold(held, available, START, cause))

    with monkeypatch.context() as crashing:
        crashing.setattr(store, "add_to_totals", lambda transaction: (_ for _ in ()).throw(Crash))
        with pytest.raises(Crash):
            post()
    assert store.transaction("hold:P-10/1") is not None
    assert post() is None and post() is None  # the redelivered event, twice
    assert store.statement({"department_id": "housing"}, None, None, 1000)["totals_fen"] \
        == everything(store, {"department_id": "housing"})["totals_fen"]


def test_postings_racing_on_one_day_are_each_counted_once(store):
    post_history(store, count=2)
    line = domain.line_account("housing", "public_infrastructure", 2026)

    def post(n):
        held, cause = order(n)
        return store.post_on_line(f"hold:{held['order_id']}", line,
                                  lambda available: domain.hold(held, available, START, cause))

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(post, range(10, 26)))
    assert store.statement({"department_id": "housing"}, None, None, 1000)["totals_fen"] \
        == everything(store, {"department_id": "housing"})["totals_fen"]


# A day with more transactions than a page has lines is read an hour at a time.
@pytest.mark.parametrize("limit", [1, 3, 50])
@pytest.mark.parametrize("where", [{"department_id": "housing"},
                                   {"budget_line": "public_infrastructure", "phase": "committed"}])
def test_statement_lines_come_a_page_at_a_time_in_the_order_recorded(store, where, limit):
    post_history(store)
    pages, cursor = [], None
    while True:
        page = store.statement(dict(where), None, None, limit=limit, cursor=cursor)
        assert len(page["lines"]) <= limit
        pages += page["lines"]
        if not (cursor := page["next"]):
            break
    assert pages == everything(store, where)["lines"]


def test_transactions_recorded_before_day_totals_are_totalled_at_start(store, db_of):
    post_history(store, count=6)
    expected = everything(store, {"department_id": "housing"})["totals_fen"]
    db = db_of("funding")
    db.transactions.update_many({}, {"$unset": {"day": "", "hour": ""}})
    db.day_totals.delete_many({})
    store.upgrade()
    store.upgrade()
    assert db.transactions.count_documents({"day": {"$exists": False}}) == 0
    assert store.statement({"department_id": "housing"}, None, None, 1000)["totals_fen"] \
        == expected
    assert store.statement({"department_id": "housing", "grid_id": "g1"}, None, None,
                           1000)["totals_fen"] \
        == everything(store, {"department_id": "housing", "grid_id": "g1"})["totals_fen"]


def test_transactions_recorded_before_busy_days_were_read_by_the_hour_get_their_hour_at_start(
        store, db_of):
    post_history(store)
    where = {"department_id": "housing"}
    db = db_of("funding")
    db.transactions.update_many({}, {"$unset": {"hour": ""}})
    store.upgrade()
    assert db.transactions.count_documents({"hour": {"$exists": False}}) == 0
    first = store.statement(dict(where), None, None, limit=2)
    assert first["lines"] == everything(store, where)["lines"][:2]


def test_totals_recorded_before_they_listed_their_transactions_are_counted_again_at_start(
        store, db_of):
    post_history(store, count=6)
    totals = db_of("funding").day_totals
    totals.update_many({}, {"$unset": {"handled": "", "version": "", "outbox": "",
                                       "outbox_pending": ""}})
    store.upgrade()
    assert totals.count_documents({"handled": {"$exists": False}}) == 0
    held, cause = order(40)
    store.post_on_line("hold:P-40/1", domain.line_account("housing", "public_infrastructure", 2026),
                       lambda available: domain.hold(held, available, START, cause))
    assert store.statement({"department_id": "housing"}, None, None, 1000)["totals_fen"] \
        == everything(store, {"department_id": "housing"})["totals_fen"]


def test_month_roll_ups_kept_with_their_groups_as_documents_are_rolled_up_again(store, db_of):
    post_history(store)
    store.roll_up("2026-10")
    rolled_up = db_of("funding").month_totals
    kept = rolled_up.find_one({"_id": "housing:2026-10"})
    rolled_up.update_one({"_id": "housing:2026-10"},
                         {"$set": {"groups": json.loads(kept["groups"])}})
    store.upgrade()
    assert "groups" not in rolled_up.find_one({"_id": "housing:2026-10"})
    where = {"department_id": "housing"}
    assert store.statement(dict(where), *OCTOBER, limit=1)["totals_fen"] \
        == everything(store, where, *OCTOBER)["totals_fen"]
    assert isinstance(rolled_up.find_one({"_id": "housing:2026-10"})["groups"], str)
