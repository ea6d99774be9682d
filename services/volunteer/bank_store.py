"""The morality bank's database: the ledger, the savings branches, the catalogue and the
points rules.

Overdraft protection without transactions: a member account's debits are
numbered (``shared/ledger.py`` says how and why).

Each transaction's ``_id`` is its idempotency key. ``post`` and ``post_debit``
refuse a key already posted (a request sent twice is a mistake worth telling);
``post_once`` returns False instead, for events, which are redelivered.

FerretDB notes: ``$unwind`` keeps only the unwound field (and ``_id``), and
``$group`` knows only ``$sum`` and ``$count``; so everything else a pipeline
needs is matched before the ``$unwind``, and leaderboards are ranked here.
"""

import copy
from collections import defaultdict

from pymongo import ASCENDING, DESCENDING

from services.volunteer import bank
from shared.errors import Conflict
from shared.ledger import (
    ACCOUNTS_INDEX,
    GUARD_INDEX,
    add_missing_accounts,
    post_numbered,
    with_accounts,
)
from shared.storage import MongoStore, Recent, insert_once


class HoursLedger(MongoStore):
    def __init__(self, db):
        super().__init__(db)
        self.ledger = db.ledger
        self._points_rules = Recent(self._read_points_rules)

    def ensure_indexes(self):
        self.ledger.create_index(GUARD_INDEX, unique=True)
        self.ledger.create_index(ACCOUNTS_INDEX)
        for field in ("postings.account", "postings.branch", "postings.grid_id",
                      "postings.community_id", "at"):
            self.ledger.create_index([(field, ASCENDING)])

    def upgrade(self):
        add_missing_accounts(self.ledger)

    # Posting

    def post_debit(self, key, account, unit, build):
        """Post the transaction ``build(balance)`` returns, which takes from member ``account``.

        ``balance`` is the account's balance in ``unit`` as of the attempt;
        ``build`` refuses an overdraft (``bank.donate`` and ``bank.redeem`` do)
        and may be called again when a concurrent debit won the race. Returns
        the transaction as posted. Raises Conflict if ``key`` was already posted,
        or if the account would go below zero whatever ``build`` said.
        Example::

            ledger.post_debit(bank.donation_key(request_id), bank.member_account(giver["_id"]),
                              bank.HOURS, lambda balance: bank.donate(request_id, giver,
                                                                      receiver, 60, balance, now))
        """
        def checked():
            self._refuse_posted(key)
            balance = self.balance(account, unit)
            transaction = build(balance)
            if transaction["_id"] != key or transaction["unit"] != unit \
                    or bank.debited_member(transaction) != account:
                raise ValueError(f"built {transaction['_id']} does not take {unit} "
                                 f"from {account} under key {key}")
            self._refuse_overdraft(transaction, account, balance)
            return transaction

        return post_numbered(self.ledger, account, checked, self._insert)

    def post(self, transaction):
        """Post a built transaction (a deposit, points, a reversal ...); returns it as posted.

        A transaction that takes from a member goes through ``post_debit``, so the
        member's balance is checked when it is posted. Raises Conflict if its key
        was already posted.
        """
        account = bank.debited_member(transaction)
        if account:
            return self.post_debit(transaction["_id"], account, transaction["unit"],
                                   lambda balance: transaction)
        if not self._insert(transaction):
            self._refuse_posted(transaction["_id"])
            raise Conflict(f"{transaction['_id']} could not be posted; try again.")
        return transaction

    def post_once(self, transaction):
        """Post a transaction unless its key already is: True if posted now, False if it was
        before (a redelivered event posts nothing and does not fail)."""
        try:
            self.post(transaction)
        except Conflict:
            if self.transaction(transaction["_id"]) is not None:
                return False
            raise
        return True

    @staticmethod
    def _refuse_overdraft(transaction, account, balance):
        """The ledger's own rule, whatever the builder checked (a reversal checks nothing)."""
        taken = -bank.net_change(transaction, account)
        if taken <= balance:
            return
        advice = ("Reverse what the member did with it first (their donation or redemption), "
                  "or leave the original standing." if transaction["kind"] == "reversal"
                  else "Ask for at most the balance.")
        whole = "minutes" if transaction["unit"] == bank.HOURS else "points"
        raise Conflict(f"{transaction['_id']} would take {taken} {whole} from {account}, which "
                       f"holds {balance}; a member's account never goes below zero. {advice}",
                       details={"unit": transaction["unit"], "balance": balance, "requested": taken})

    def _insert(self, transaction):
        """True if inserted; False when its key or its guard is taken."""
        return insert_once(self.ledger, with_accounts(transaction))

    def _refuse_posted(self, key):
        existing = self.transaction(key)
        if existing is not None:
            raise Conflict(f"This was already posted as {key} at {existing['at']}; nothing was "
                           "moved twice. Use a new request id for a new transaction.",
                           details={"transaction_id": key})

    # Reading

    def transaction(self, key):
        return self.ledger.find_one({"_id": key})

    def balance(self, account, unit):
        """The sum of the account's postings in ``unit``."""
        return self.balances([account], unit).get(account, 0)

    def balances(self, accounts, unit):
        """{account: balance} for the accounts that have postings in ``unit``."""
        accounts = list(accounts)
        rows = self.ledger.aggregate([
            {"$match": {"unit": unit, "postings.account": {"$in": accounts}}},
            {"$unwind": "$postings"},
            {"$match": {"postings.account": {"$in": accounts}}},
            {"$group": {"_id": "$postings.account", "balance": {"$sum": "$postings.amount"}}},
        ])
        return {row["_id"]: row["balance"] for row in rows}

    def postings(self, account, unit):
        """The account's postings as statement lines ``{at, key, kind, amount, memo}``, oldest
        first; ``bank.statement`` adds the running balance."""
        lines = []
        for transaction in self.ledger.find({"unit": unit, "postings.account": account}):
            for posting in transaction["postings"]:
                if posting["account"] == account:
                    lines.append({"at": transaction["at"], "key": transaction["_id"],
                                  "kind": transaction["kind"], "amount": posting["amount"],
                                  "memo": transaction["memo"]})
        return sorted(lines, key=lambda line: (line["at"], line["key"]))

    def branch_statement(self, branch_id, unit):
        """What passed through a savings branch's member sub-accounts, with each member's balance.

        ``lines`` are the postings to members made while they belonged to the
        branch (each carries its branch); ``members`` are those members with
        their whole balance, which is what a depositor asks about; ``issued`` is
        what the branch has issued.
        """
        lines, names = [], {}
        for transaction in self.ledger.find({"unit": unit, "postings.branch": branch_id}):
            for posting in transaction["postings"]:
                if posting.get("branch") == branch_id and bank.is_member_account(posting["account"]):
                    names[posting["volunteer_id"]] = posting.get("name")
                    lines.append({"at": transaction["at"], "key": transaction["_id"],
                                  "kind": transaction["kind"], "volunteer_id": posting["volunteer_id"],
                                  "amount": posting["amount"], "memo": transaction["memo"]})
        balances = self.balances([bank.member_account(v) for v in names], unit)
        members = [{"volunteer_id": v, "name": name,
                    "balance": balances.get(bank.member_account(v), 0)}
                   for v, name in sorted(names.items())]
        return {"branch_id": branch_id, "unit": unit,
                "lines": sorted(lines, key=lambda line: (line["at"], line["key"])),
                "members": members,
                "total": sum(m["balance"] for m in members),
                "issued": -self.balance(bank.issued_account(branch_id), unit)}

    def leaderboard(self, unit, grid_id=None, community_id=None, since=None, limit=20):
        """Members ranked by what they earned in ``unit``: hours deposited for their work, or
        points awarded, net of reversals; hours given to them or spent do not count, so
        the board ranks service, not generosity received.

        ``grid_id``/``community_id`` select the members by the home grid and community
        they had when they earned; ``since`` (datetime or ISO) counts only later
        earnings. Returns ``[{rank, volunteer_id, name, earned}]``, ties by id.
        """
        query = {"unit": unit, "$or": [{"kind": {"$in": list(bank.EARNING_KINDS)}},
                                       {"source.reversed_kind": {"$in": list(bank.EARNING_KINDS)}}]}
        if since is not None:
            query["at"] = {"$gte": bank.iso(since)}
        for field, value in (("grid_id", grid_id), ("community_id", community_id)):
            if value is not None:
                query[f"postings.{field}"] = value
        earned, names = defaultdict(int), {}
        for transaction in self.ledger.find(query, {"postings": 1}):
            for posting in transaction["postings"]:
                if not bank.is_member_account(posting["account"]):
                    continue
                if (grid_id is not None and posting.get("grid_id") != grid_id) or \
                        (community_id is not None and posting.get("community_id") != community_id):
                    continue
                earned[posting["volunteer_id"]] += posting["amount"]
                names[posting["volunteer_id"]] = posting.get("name")
        ranked = sorted(((v, total) for v, total in earned.items() if total > 0),
                        key=lambda row: (-row[1], row[0]))[:limit]
        return [{"rank": rank, "volunteer_id": v, "name": names[v], "earned": total}
                for rank, (v, total) in enumerate(ranked, start=1)]

    def trial_balance(self):
        """{unit: the sum of all its postings}: zero for every unit, or the ledger is broken."""
        totals = {}
        for unit in sorted(self.ledger.distinct("unit")):
            rows = list(self.ledger.aggregate([
                {"$match": {"unit": unit}},
                {"$unwind": "$postings"},
                {"$group": {"_id": None, "total": {"$sum": "$postings.amount"}}},
            ]))
            totals[unit] = rows[0]["total"] if rows else 0
        return totals

    # Savings branches and the catalogue

    def save_branch(self, branch_id, branch):
        """Create or replace a branch: ``{"name", "kind"}``."""
        self.db.bank_branches.replace_one({"_id": branch_id}, {**branch, "_id": branch_id},
                                          upsert=True)

    def branch(self, branch_id):
        return self.db.bank_branches.find_one({"_id": branch_id})

    def branches(self):
        return list(self.db.bank_branches.find().sort("_id", ASCENDING))

    def save_item(self, item_id, item):
        """Create or replace a catalogue item: ``{"name", "price_minutes", "active"}``."""
        self.db.bank_catalogue.replace_one({"_id": item_id}, {**item, "_id": item_id},
                                           upsert=True)

    def item(self, item_id):
        return self.db.bank_catalogue.find_one({"_id": item_id})

    def items(self, active_only=False):
        query = {"active": True} if active_only else {}
        return list(self.db.bank_catalogue.find(query).sort("_id", ASCENDING))

    # Points rules

    def points_rules(self):
        """The rules in force, with their ``revision`` (0: the defaults, never replaced);
        every deposit of hours reads them (see ``Recent``)."""
        return self._points_rules.get()

    def _read_points_rules(self):
        doc = self.db.points_rules.find_one({"_id": "current"}, {"_id": 0})
        return doc or {"revision": 0, **copy.deepcopy(bank.DEFAULT_POINTS_RULES)}

    def replace_points_rules(self, rules):
        """Store a new revision of the points rules and keep every earlier one.

        The history is written first and numbers the revisions, so a crash
        between the two writes leaves an orphan revision, never a stuck counter.
        Points already awarded keep the revision they were computed with.
        """
        rules = {name: rules[name] for name in ("per_hour", "by_category", "urgent_bonus")}
        latest = self.db.points_rules_history.find_one({}, sort=[("_id", DESCENDING)])
        revision = (latest["_id"] if latest else 0) + 1
        if not insert_once(self.db.points_rules_history, {"_id": revision, **rules}):
            raise Conflict("Someone changed the points rules at the same moment; "
                           "fetch them again and reapply your change.")
        self.db.points_rules.replace_one({"_id": "current"}, {"revision": revision, **rules},
                                         upsert=True)
        self._points_rules.forget()
        return revision

    def points_rules_revision(self, revision):
        """An earlier revision of the points rules, or None."""
        doc = self.db.points_rules_history.find_one({"_id": revision})
        if doc is None:
            return None
        return {"revision": revision, **{k: v for k, v in doc.items() if k != "_id"}}
