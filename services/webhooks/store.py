from pymongo import ASCENDING

from shared.storage import MongoStore, Recent, insert_once

SHOWN = {"secret": 0}


class WebhookStore(MongoStore):
    def __init__(self, db):
        super().__init__(db)
        self._wanting = Recent(lambda: self.subscriptions(with_secrets=True))

    def ensure_indexes(self):
        self.db.deliveries.create_index([("state", ASCENDING), ("next_at", ASCENDING)])
        self.db.deliveries.create_index([("subscription_id", ASCENDING), ("_id", ASCENDING)])

    def add_subscription(self, subscription):
        self.db.subscriptions.insert_one(subscription)
        self._wanting.forget()

    def subscription(self, subscription_id, with_secret=False):
        return self.db.subscriptions.find_one({"_id": subscription_id},
                                              None if with_secret else SHOWN)

    def subscriptions(self, with_secrets=False):
        return list(self.db.subscriptions.find({}, None if with_secrets else SHOWN).sort("_id"))

    def deactivate(self, subscription_id):
        self.db.subscriptions.update_one({"_id": subscription_id}, {"$set": {"active": False}})
        self._wanting.forget()

    def wanting(self):
        """Every subscription with its secret, as every event asks (see ``Recent``): a
        subscription made or stopped through another replica counts here within a second."""
        return self._wanting.get()

    def add_delivery(self, delivery):
        """Once per subscription and event, however often the event is delivered to us."""
        insert_once(self.db.deliveries, delivery)

    def due(self, now, limit=100):
        return list(self.db.deliveries.find({"state": "pending", "next_at": {"$lte": now.isoformat()}})
                    .sort("next_at", ASCENDING).limit(limit))

    def record_attempt(self, delivery_id, attempts_before, fields):
        """Only if no other replica recorded an attempt meanwhile (then it was theirs)."""
        self.db.deliveries.update_one({"_id": delivery_id, "attempts": {"$size": attempts_before}},
                                      {"$set": fields})

    def deliveries_of(self, subscription_id, limit=200):
        return list(self.db.deliveries.find({"subscription_id": subscription_id},
                                            {"event": 0}).sort("_id", ASCENDING).limit(limit))
