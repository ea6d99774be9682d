"""Public disclosure's collections in the grid service's database: the admitted events
(its log, keyed by each event's identity, so a redelivery adds nothing, and holding only
the fields disclosure.KEPT allows) and what is folded from them, one document per
proposal and per order."""

from datetime import UTC

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from shared.storage import MongoStore, insert_once

FOLDS = {"proposal": "disclosed_proposals", "order": "disclosed_orders"}


class DisclosureStore(MongoStore):
    def ensure_indexes(self):
        self.db.disclosure_events.create_index([("subject", ASCENDING)])
        for collection in FOLDS.values():
            self.db[collection].create_index([("community_id", ASCENDING)])

    def record(self, event, subject, admitted):
        """Keep the event's admitted data in the log (once)."""
        insert_once(self.db.disclosure_events,
                    {"_id": event.key, "subject": subject, "type": event.type, "id": event.id,
                     "time": event.time.astimezone(UTC).isoformat(), "data": admitted})

    def events_of(self, subject):
        return list(self.db.disclosure_events.find({"subject": subject}))

    def save(self, kind, folded):
        """Keep the fold unless one of more events was kept already: two workers may fold
        one subject at once, and the later fold of the log sees every event the earlier
        one did."""
        try:
            self.db[FOLDS[kind]].replace_one(
                {"_id": folded["_id"], "events": {"$lte": folded["events"]}}, folded,
                upsert=True)
        except DuplicateKeyError:
            pass  # a fuller fold is already there

    def proposals_of(self, community_id, since):
        """The community's proposals still open, and those that changed since ``since``."""
        return list(self.db.disclosed_proposals.find({
            "community_id": community_id,
            "$or": [{"final": False}, {"updated_at": {"$gte": since}}]}))

    def orders_of(self, community_id, since):
        """The community's orders whose money moved since ``since``."""
        return list(self.db.disclosed_orders.find({"community_id": community_id,
                                                   "money_at": {"$gte": since}}))
