"""The funding service's database: the ledger, and the orders waiting on money (blocked
by a short budget line, or for an approval of a cost above the hold)."""

from pymongo import ASCENDING

from services.funding import domain
from shared.ledger import GUARD_INDEX, post_numbered
from shared.storage import AggregateCollection, MongoStore

HIDDEN = {"outbox": 0, "handled": 0, "version": 0, "outbox_pending": 0}


class _Posted(Exception):
    """The key is already in the ledger: this was done before."""


class FundingStore(MongoStore):
    def __init__(self, db):
        super().__init__(db)
        self.transactions = AggregateCollection(db.transactions)
        self.waiting = AggregateCollection(db.waiting_orders)

    def ensure_indexes(self):
        self.transactions.ensure_indexes()
        self.waiting.ensure_indexes()
        self.db.transactions.create_index(GUARD_INDEX, unique=True)
        for field in ("postings.account", "petition_id", "order_id", "kind", "recorded_at"):
            self.db.transactions.create_index([(field, ASCENDING)])
        self.db.waiting_orders.create_index([("state", ASCENDING), ("department_id", ASCENDING)])

    def upgrade(self):
        """Transactions recorded before numbered debits guard only themselves; those of
        the foundation release get today's postings."""
        for doc in self.db.transactions.find({"guard": {"$exists": False}}, {"_id": 1}):
            self.db.transactions.update_one({"_id": doc["_id"]},
                                            {"$set": {"guard": {"account": doc["_id"], "seq": 0}}})
        for doc in self.db.transactions.find({"postings.phase": {"$exists": False}}):
            self.db.transactions.update_one({"_id": doc["_id"]},
                                            {"$set": domain.upgraded(doc)})

    # Posting

    def post(self, transaction, events=()):
        """Record a transaction once; False if its key is already recorded."""
        return self.transactions.create(transaction, events)

    def post_debit(self, key, account, build):
        """Post what ``build(available)`` returns, ``(transaction, events)``, as the next
        numbered debit of ``account``, which it may not overdraw; None if ``key`` was
        posted before (a replayed event)."""
        box = {}

        def checked():
            if self.transaction(key) is not None:
                raise _Posted
            transaction, box["events"] = build(self.balance(account))
            return transaction

        try:
            return post_numbered(self.db.transactions, account, checked,
                                 lambda t: self.transactions.create(t, box["events"]))
        except _Posted:
            return None

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
        rows = list(self.db.transactions.aggregate([
            {"$match": {"postings.account": account}},
            {"$unwind": "$postings"},
            {"$match": {"postings.account": account}},
            {"$group": {"_id": None, "balance": {"$sum": "$postings.amount_fen"}}},
        ]))
        return rows[0]["balance"] if rows else 0

    def held_balances(self):
        """The balance of every held account (what each line has committed to open orders)."""
        return {row["_id"]: row["fen"] for row in self.db.transactions.aggregate([
            {"$match": {"postings.account": {"$regex": "^held:"}}},
            {"$unwind": "$postings"},
            {"$match": {"postings.account": {"$regex": "^held:"}}},
            {"$group": {"_id": "$postings.account", "fen": {"$sum": "$postings.amount_fen"}}},
        ])}

    def postings_of(self, account):
        return sum(1 for t in self.db.transactions.find({"postings.account": account}, {"_id": 1}))

    def of_petition(self, petition_id):
        return list(self.db.transactions.find({"petition_id": petition_id}, HIDDEN)
                    .sort("recorded_at"))

    def all_transactions(self, query=None):
        return list(self.db.transactions.find(query or {}, HIDDEN).sort("recorded_at"))
