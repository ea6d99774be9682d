"""Public disclosure's collections in the grid service's database: the admitted events
(its log, keyed by each event's identity, so a redelivery adds nothing, and holding only
the fields disclosure.KEPT allows) and what is folded from them, one document per
proposal and per order."""

from datetime import UTC

from pymongo import ASCENDING

from shared.storage import AggregateCollection, MongoStore, insert_once

FOLDS = {"proposal": "disclosed_proposals", "order": "disclosed_orders"}


class DisclosureStore(MongoStore):
    # 2: folds carry a version (and the keys of the events they hold), so a fold is saved
    # only onto the document it was made from.
    SHAPE = 2

    def __init__(self, db):
        super().__init__(db)
        self.folds = {kind: AggregateCollection(db[name]) for kind, name in FOLDS.items()}

    def ensure_indexes(self):
        self.db.disclosure_events.create_index([("subject", ASCENDING)])
        for collection in FOLDS.values():
            self.db[collection].create_index([("community_id", ASCENDING)])

    def upgrade(self):
        for folded in self.folds.values():
            folded.add_missing_versions()

    def record(self, event, subject, admitted):
        """Keep the event's admitted data in the log (once); returns it as the log holds
        it."""
        entry = {"_id": event.key, "subject": subject, "type": event.type, "id": event.id,
                 "time": event.time.astimezone(UTC).isoformat(), "data": admitted}
        insert_once(self.db.disclosure_events, entry)
        return entry

    def events_of(self, subject):
        return list(self.db.disclosure_events.find({"subject": subject}))

    def keep(self, kind, subject_id, folded, handled=None):
        """Save ``folded(document as stored, or None)`` as the proposal's or order's
        public document (see ``AggregateCollection.keep``)."""
        self.folds[kind].keep(subject_id, folded, handled)

    def proposals_of(self, community_id, since):
        """The community's proposals still open, and those that changed since ``since``."""
        return list(self.db.disclosed_proposals.find({
            "community_id": community_id,
            "$or": [{"final": False}, {"updated_at": {"$gte": since}}]}))

    def orders_of(self, community_id, since):
        """The community's orders whose money moved since ``since``."""
        return list(self.db.disclosed_orders.find({"community_id": community_id,
                                                   "money_at": {"$gte": since}}))
