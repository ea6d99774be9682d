"""The funding service's database: the ledger, the orders waiting on money (blocked
by a short budget line, or for an approval of a cost above the hold), and the totals
per department and day that statements are summed from, and their sums per month.

Every transaction that posts to a budget line is the next link of that line's chain
(``shared/ledger.py``): it carries the line's balance after it, so what a line has
available is read from its last link, not summed over its history.

A day's totals are a document that lists the transactions it has just counted
(``counting``) and changes in the same single-document write as their sums. After each
posting the transaction is added to its department's day, once: a transaction posted
twice, or a crash between a posting and its totals (healed when the same event is
redelivered and finds the transaction posted), never leaves them wrong. Once counted,
the transaction is marked ``counted`` and a later change of the day drops its key, so a
busy day's document stays small (see ``add_to_totals``).
"""

import base64
import json
from collections import defaultdict

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from services.funding import domain
from shared.domain import Change
from shared.errors import InvalidFields
from shared.events import now
from shared.ledger import (
    ACCOUNTS_INDEX,
    GUARD_INDEX,
    GUARD_KEY_INDEX,
    add_missing_accounts,
    chain_end,
    last_link,
    post_chained,
    self_guarded,
    tracked_balance,
    with_accounts,
)
from shared.storage import AggregateCollection, MongoStore

HIDDEN = {"outbox": 0, "handled": 0, "version": 0, "outbox_pending": 0}
TOTALS = {"day": 1, "groups": 1, "transactions": 1}
# A statement page reads at most this many days of transactions for its lines, so a
# filter that matches little still answers promptly (its page is short, with a cursor).
DAYS_PER_PAGE = 7


def month_key(department, month):
    """A month's rolled-up totals, of one department or (``*``) of all."""
    return f"{department or '*'}:{month}"


class _Posted(Exception):
    """The key is already in the ledger: this was done before."""


class FundingStore(MongoStore):
    SHAPE = 2

    def __init__(self, db):
        super().__init__(db)
        self.transactions = AggregateCollection(db.transactions)
        self.waiting = AggregateCollection(db.waiting_orders)
        self.totals = AggregateCollection(db.day_totals)
        # By day: keys this process marked counted, for the day's next change to drop.
        self.marked = defaultdict(set)

    def ensure_indexes(self):
        self.transactions.ensure_indexes()
        self.waiting.ensure_indexes()
        self.db.transactions.create_index(GUARD_INDEX, unique=True)
        self.db.transactions.create_index(ACCOUNTS_INDEX)
        self.db.transactions.create_index(GUARD_KEY_INDEX)
        for field in ("petition_id", "order_id", "kind", "recorded_at",
                      "day"):
            self.db.transactions.create_index([(field, ASCENDING)])
        self.db.transactions.create_index([("department_id", ASCENDING), ("day", ASCENDING)])
        self.db.transactions.create_index([("department_id", ASCENDING), ("hour", ASCENDING)])
        self.db.waiting_orders.create_index([("state", ASCENDING), ("department_id", ASCENDING)])
        self.db.day_totals.create_index([("department_id", ASCENDING), ("month", ASCENDING)])
        self.db.day_totals.create_index([("month", ASCENDING)])
        for place in domain.PLACE_FILTERS:
            self.db.transactions.create_index([(place, ASCENDING), ("department_id", ASCENDING)])

    def upgrade(self):
        """Transactions recorded before numbered debits guard only themselves; those of
        the foundation release get today's postings. Month roll-ups whose groups were
        kept as documents are rolled up again."""
        self.db.month_totals.update_many({"groups": {"$type": "array"}},
                                         {"$unset": {"days": "", "groups": ""}})
        for doc in self.db.transactions.find({"guard": {"$exists": False}}, {"_id": 1}):
            self.db.transactions.update_one({"_id": doc["_id"]}, {
                "$set": {"guard": {"account": doc["_id"], "seq": 0}}, "$inc": {"version": 1}})
        for doc in self.db.transactions.find({"postings.phase": {"$exists": False}}):
            self.db.transactions.update_one({"_id": doc["_id"]},
                                            {"$set": domain.upgraded(doc), "$inc": {"version": 1}})
        self._upgrade_days()
        add_missing_accounts(self.db.transactions)

    def _upgrade_days(self):
        """Transactions recorded before statements were summed from day totals get their
        ``day``, after their days' totals are written; totals recorded before they
        listed their transactions are counted again, listing them. A crash in between
        leaves them to be found and totalled again at the next start. Transactions
        recorded before busy days were read by the hour get their ``hour``."""
        unhoured = list(self.db.transactions.find({"$or": [
            {"day": {"$exists": False}}, {"hour": {"$exists": False}}]}, HIDDEN))
        undated = [doc for doc in unhoured if "day" not in doc]
        days = {(doc["department_id"], doc["day"]) for doc in self.db.day_totals.find(
            {"handled": {"$exists": False}}, {"department_id": 1, "day": 1})}
        for doc in undated:
            doc["day"] = domain.day_of(doc["recorded_at"])
            days.add((doc.get("department_id"), doc["day"]))
        for department, day in days:
            self.save_totals(department, day, [
                *self.db.transactions.find({"department_id": department, "day": day},
                                           {"postings": 1}),
                *(doc for doc in undated
                  if (doc.get("department_id"), doc["day"]) == (department, day))])
        for doc in unhoured:
            self.db.transactions.update_one({"_id": doc["_id"]}, {"$set": {
                "day": domain.day_of(doc["recorded_at"]),
                "hour": domain.hour_of(doc["recorded_at"])}, "$inc": {"version": 1}})
        for doc in self.db.transactions.find({"kind": "reversal"}, HIDDEN):
            if "grid_id" not in doc:
                original = self.transaction(doc["reverses"]) or {}
                self.db.transactions.update_one({"_id": doc["_id"]}, {"$set": {
                    key: original.get(key) for key in domain.PLACE_FILTERS},
                    "$inc": {"version": 1}})

    # Posting

    def post(self, transaction, events=()):
        """Record a transaction once; False if its key is already recorded."""
        line = domain.line_of(transaction)
        if line is not None:
            return self.post_on_line(transaction["_id"], line,
                                     lambda available: (transaction, events)) is not None
        created = self.transactions.create(with_accounts(self_guarded(transaction)), events)
        self.add_to_totals(transaction if created else self.transaction(transaction["_id"]))
        return created

    def post_on_line(self, key, line, build):
        """Post what ``build(available)`` returns, ``(transaction, events)``, as the next
        link of the budget line's chain; ``build`` refuses to overdraw it. None if
        ``key`` was posted before (a replayed event)."""
        box = {}

        def checked(available):
            if self.transaction(key) is not None:
                raise _Posted
            transaction, box["events"] = build(available)
            return transaction

        try:
            posted = post_chained(
                self.db.transactions, line, checked,
                lambda t: self.transactions.create(with_accounts(t), box["events"]),
                self.summed_balance, tracked=(domain.held_of(line),))
        except _Posted:
            self.add_to_totals(self.transaction(key))
            return None
        self.add_to_totals(posted)
        return posted

    # Totals per department and day (see the module's docstring)

    def add_to_totals(self, transaction):
        """Count a posting in its department's day, once.

        The day lists the keys it counted (``counting``; days totalled before list all of
        theirs in ``handled``) only until their transactions are marked ``counted``; then
        its next change drops them. A delivery that finds its transaction unmarked reads
        the mark again after reading the day, inside the change, and a key is dropped only
        after its mark is written: so it finds either its key still listed or the mark.
        """
        key, day = transaction["_id"], transaction["day"]
        if transaction.get("counted"):
            return
        day_id = f"{transaction.get('department_id')}:{day}"
        found = {}

        def add(totals):
            found.clear()  # what the attempt that is saved found, not an earlier one
            counted = totals or {"transactions": 0, "groups": [], "counting": [], "handled": []}
            listed = key in counted.get("counting", []) or key in counted.get("handled", [])
            if listed or (self.transaction(key) or {}).get("counted"):
                found["unmarked"] = listed
                return None
            found["unmarked"], found["dropped"] = True, self.marked[day_id].copy()
            return Change(set={
                "department_id": transaction.get("department_id"), "day": day,
                "month": day[:7], "transactions": counted["transactions"] + 1,
                "groups": domain.totals(counted["groups"] + transaction["postings"],
                                        domain.LINE_FILTERS),
                "counting": [k for k in counted.get("counting", [])
                             if k not in found["dropped"]] + [key]})

        self.totals.put(day_id, add)
        if found.get("unmarked"):
            self.db.transactions.update_one({"_id": key}, {"$set": {"counted": True},
                                                           "$inc": {"version": 1}})
            self.marked[day_id] = (self.marked[day_id] - found.get("dropped", set())) | {key}
        self._month_changed(transaction.get("department_id"), day)

    def save_totals(self, department, day, transactions):
        """Write a day's totals as counted from all of its ``transactions``."""
        self.db.day_totals.update_one({"_id": f"{department}:{day}"}, {"$set": {
            "department_id": department, "day": day, "month": day[:7],
            "transactions": len(transactions),
            "groups": domain.totals([p for t in transactions for p in t["postings"]],
                                    domain.LINE_FILTERS),
            "handled": [t["_id"] for t in transactions], "outbox": [],
            "outbox_pending": False}, "$inc": {"version": 1}}, upsert=True)
        self._month_changed(department, day)

    def statement(self, where, start, end, limit, cursor=None):
        """The totals by phase of the postings matching ``where`` (department, line, year,
        phase, account, community, grid) in the period ``start``..``end`` (UTC ISO
        times, either open), and one page of its lines.

        A department's or a line's statement is summed from the day totals (a month is
        one indexed equality on department and month, and a month the period covers
        whole, once it is over, one document of its roll-up); a place's from the place's
        own transactions (an indexed equality on the grid or community, a few per day)."""
        scope = {"department_id": where["department_id"]} if "department_id" in where else {}
        place = {key: where[key] for key in domain.PLACE_FILTERS if key in where}
        if place:
            found = list(self.db.transactions.find({**scope, **place}, HIDDEN))
            totals = domain.statement(found, where, start, end)["totals_fen"]
            after = decode_cursor(cursor) if cursor else ("", "", -1)
            lines = domain.statement_lines(found, where, start, end, after, limit)
            more = len(lines) == limit and domain.statement_lines(
                found, where, start, end, lines[-1][0], 1)
            return {"where": where, "from": start, "to": end, "totals_fen": totals,
                    "lines": [line for _, line in lines],
                    "next": encode_cursor(lines[-1][0]) if more else None}
        whole, partial = domain.days_of(start, end)
        sums = self._sums(scope, start, end)
        days = {}  # the period's days with postings, and how many transactions each has
        for sum_ in sums:
            for day, count in sum_["days"].items():
                if whole(day) or day in partial:
                    days[day] = days.get(day, 0) + count
        totals = domain.phase_totals(
            [g for sum_ in sums if all(whole(day) for day in sum_["days"])
             for g in sum_["groups"]], where)
        for day in partial:
            if day in days:
                totals = domain.add_totals(totals, domain.statement(
                    self._transactions_in(scope, {"day": day}), where, start, end)["totals_fen"])
        lines, after = self._lines(scope, where, start, end, days, limit, cursor)
        return {"where": where, "from": start, "to": end, "totals_fen": totals,
                "lines": lines, "next": after}

    def _sums(self, scope, start, end):
        """The totals of the period's days, each as the days it sums (with how many
        transactions each has) and their groups: a day's totals, or a whole month's,
        rolled up once the month is over."""
        if not (start and end):
            months = [None]
        else:
            months = domain.months_between(start, end)
        sums = []
        for month in months:
            if month and domain.covers_month(start, end, month) and domain.may_roll_up(
                    month, now()):
                sums.append(self._month_totals(scope, month))
            else:
                sums += [{"days": {doc["day"]: doc["transactions"]}, "groups": doc["groups"]}
                         for doc in self.db.day_totals.find(
                             {**scope, **({"month": month} if month else {})}, TOTALS)]
        return sums

    def _month_totals(self, scope, month):
        """A month's day totals summed into one document, kept until a late posting (a
        redelivery) changes one of its days. The roll-up is kept only if no such change
        was announced since it was read (``changes``): a change it missed announces
        itself after its day is written.

        Its groups (one per department, line, year, phase and account: several hundred,
        for the service centres' accounts) are kept as one JSON text: FerretDB converts
        each value of a document it reads, and one text converts six times faster than
        the same groups as documents (7 against 42 ms for a department's month)."""
        key = month_key(scope.get("department_id"), month)
        kept = self.db.month_totals.find_one({"_id": key}) or {"changes": 0}
        if "groups" in kept:
            return {**kept, "groups": json.loads(kept["groups"])}
        docs = list(self.db.day_totals.find({**scope, "month": month}, TOTALS))
        days = {}
        for doc in docs:
            days[doc["day"]] = days.get(doc["day"], 0) + doc["transactions"]
        rolled = {"days": days, "changes": kept["changes"],
                  "groups": domain.totals([g for doc in docs for g in doc["groups"]],
                                          domain.LINE_FILTERS)}
        try:
            self.db.month_totals.replace_one(
                {"_id": key, "changes": kept["changes"]},
                {**rolled, "groups": json.dumps(rolled["groups"], separators=(",", ":"))},
                upsert=True)
        except DuplicateKeyError:
            pass  # a day changed meanwhile: this answer stands, the next one rolls up again
        return rolled

    def roll_up(self, month):
        """Roll up a month that is over, for each department that posted in it and for
        all, unless rolled up already."""
        departments = {doc["department_id"] for doc in self.db.day_totals.find(
            {"month": month}, {"department_id": 1})} - {None}
        for scope in [*({"department_id": d} for d in sorted(departments)), {}]:
            self._month_totals(scope, month)

    def _month_changed(self, department, day):
        """Announce a change to a day whose month may already be rolled up."""
        if domain.may_be_rolled_up(day[:7], now()):
            for key in (month_key(department, day[:7]), month_key(None, day[:7])):
                self.db.month_totals.update_one(
                    {"_id": key}, {"$inc": {"changes": 1}, "$unset": {"days": "", "groups": ""}},
                    upsert=True)

    def _lines(self, scope, where, start, end, days, limit, cursor):
        """A page of lines, read a day at a time; a day with more transactions than the
        page has lines, an hour at a time, until the page is full (FerretDB decodes
        every document a query matches, and sorts in Go)."""
        after = decode_cursor(cursor) if cursor else ("", "", -1)
        lines = []
        for read, day in enumerate(d for d in sorted(days) if d >= after[0][:10]):
            if read == DAYS_PER_PAGE:
                return [line for _, line in lines], encode_cursor((day, "", -1))
            buckets = ([{"day": day}] if days[day] <= limit else
                       [{"hour": hour} for hour in domain.hours_of(day) if hour >= after[0][:13]])
            for bucket in buckets:
                lines += domain.statement_lines(self._transactions_in(scope, bucket), where,
                                                start, end, after, limit - len(lines))
                if len(lines) == limit:
                    return [line for _, line in lines], encode_cursor(lines[-1][0])
        return [line for _, line in lines], None

    def _transactions_in(self, scope, bucket):
        """A department's (or every department's) transactions of a day or an hour."""
        return list(self.db.transactions.find({**scope, **bucket}, HIDDEN))

    # Orders waiting on money

    def wait(self, record, events):
        """Keep an order that cannot be paid yet (once: a replay changes nothing)."""
        return self.waiting.create(record, events)

    def waiting_on(self, department_id, budget_line, fiscal_year):
        return list(self.db.waiting_orders.find({
            "state": "blocked", "department_id": department_id, "budget_line": budget_line,
            "fiscal_year": fiscal_year}, HIDDEN))

    def waiting_for(self, record_id):
        return self.waiting.get(record_id)

    def done_waiting(self, record_id, how):
        self.db.waiting_orders.update_one({"_id": record_id}, {"$set": {"state": how}})

    def notices(self, department_id):
        return list(self.db.waiting_orders.find({"department_id": department_id,
                                                 "state": "blocked"}, HIDDEN))

    # Reading

    def transaction(self, key):
        return self.transactions.get(key)

    def balance(self, account):
        if domain.department_of(account):
            return chain_end(self.db.transactions, account, self.summed_balance)[1]
        return self.summed_balance(account)

    def summed_balance(self, account):
        """The sum of the account's postings (what a chain's last link must agree with)."""
        rows = list(self.db.transactions.aggregate([
            {"$match": {"accounts": account}},
            {"$unwind": "$postings"},
            {"$match": {"postings.account": account}},
            {"$group": {"_id": None, "balance": {"$sum": "$postings.amount_fen"}}},
        ]))
        return rows[0]["balance"] if rows else 0

    def held_balances(self):
        """What each budget line ever allocated has committed to open orders: its held
        account's balance, carried by the line's last link (every posting to a held
        account is a link of its line's chain), a few indexed lookups a line."""
        lines = sorted({p["account"] for t in self.db.transactions.find(
            {"kind": "allocation"}, {"postings": 1}) for p in t["postings"]
            if domain.department_of(p["account"])})
        return {domain.held_of(line): tracked_balance(
            last_link(self.db.transactions, line)[1], domain.held_of(line), self.summed_balance)
            for line in lines}

    def postings_of(self, account):
        return sum(1 for t in self.db.transactions.find({"accounts": account}, {"_id": 1}))

    def of_petition(self, petition_id):
        return list(self.db.transactions.find({"petition_id": petition_id}, HIDDEN)
                    .sort("recorded_at"))

    def all_transactions(self, query=None):
        # Ties broken by key, as statement pages are: the same order every time.
        return list(self.db.transactions.find(query or {}, HIDDEN).sort(
            [("recorded_at", ASCENDING), ("_id", ASCENDING)]))


def encode_cursor(position):
    return base64.urlsafe_b64encode(json.dumps(list(position)).encode()).decode()


def decode_cursor(cursor):
    try:
        at, transaction_id, number = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return str(at), str(transaction_id), int(number)
    except (ValueError, TypeError):
        raise InvalidFields("The cursor is not one this service gave out.", fields={
            "cursor": ["Use the next of the previous page, unchanged."]}) from None
