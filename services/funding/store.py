"""The funding service's database: the ledger's transactions, each with its postings."""

from pymongo import ASCENDING

from shared.storage import AggregateCollection, MongoStore


class FundingStore(MongoStore):
    def __init__(self, db):
        super().__init__(db)
        self.transactions = AggregateCollection(db.transactions)

    def ensure_indexes(self):
        self.transactions.ensure_indexes()
        self.db.transactions.create_index([("postings.account", ASCENDING)])
        self.db.transactions.create_index([("petition_id", ASCENDING)])

    def record(self, transaction, events=(), event_key=None):
        """Record a transaction once; False if its idempotency key is already recorded."""
        return self.transactions.create(transaction, events, handled=event_key)

    def transaction(self, transaction_id):
        return self.transactions.get(transaction_id)

    def balance(self, account):
        rows = list(self.db.transactions.aggregate([
            {"$match": {"postings.account": account}},
            {"$unwind": "$postings"},
            {"$match": {"postings.account": account}},
            {"$group": {"_id": None, "balance": {"$sum": "$postings.amount_fen"},
                        "postings": {"$sum": 1}}},
        ]))
        return rows[0] if rows else {"balance": 0, "postings": 0}

    def for_petition(self, petition_id):
        return list(self.db.transactions.find({"petition_id": petition_id},
                                              {"outbox": 0, "handled": 0, "version": 0}))
