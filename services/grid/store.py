"""The grid service's database: the registry, the dispatch rules and the dispatches."""

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from services.grid.domain import dispatch_id
from shared.errors import Conflict
from shared.storage import AggregateCollection, MongoStore


class GridStore(MongoStore):
    def __init__(self, db):
        super().__init__(db)
        self.grids = AggregateCollection(db.grids)
        self.dispatches = AggregateCollection(db.dispatches)

    def ensure_indexes(self):
        self.grids.ensure_indexes()
        self.dispatches.ensure_indexes()
        self.db.dispatches.create_index([("petition_id", ASCENDING), ("round", ASCENDING)])

    def upgrade(self):
        """Dispatches written before rounds were keyed by petition id alone: they were round 1."""
        for doc in self.db.dispatches.find({"round": {"$exists": False}}):
            try:
                self.db.dispatches.insert_one({**doc, "_id": dispatch_id(doc["_id"], 1), "round": 1})
            except DuplicateKeyError:
                pass  # copied before a crash; the old one is removed below
            self.db.dispatches.delete_one({"_id": doc["_id"]})

    def save_places(self, communities, workstations):
        for name, places in (("communities", communities), ("workstations", workstations)):
            for place in places:
                self.db[name].replace_one({"_id": place["id"]}, place, upsert=True)

    def grid(self, grid_id):
        return self.grids.get(grid_id)

    def register_grid(self, grid_id, decide):
        """Create or change a grid through ``decide(current or None) -> Change | None``."""
        if self.grids.get(grid_id) is None:
            change = decide(None)
            if self.grids.create({"_id": grid_id, **change.set}, change.events):
                return
        self.grids.change(grid_id, decide)

    def rules(self):
        doc = self.db.dispatch_rules.find_one({"_id": "current"})
        return doc or {"revision": 0, "rules": []}

    def replace_rules(self, rules):
        """Store a new revision of the rule table and keep every earlier one.

        The history is written first and numbers the revisions, so a crash
        between the two writes leaves an orphan revision, never a stuck counter.
        """
        latest = self.db.dispatch_rule_history.find_one({}, sort=[("_id", -1)])
        revision = (latest["_id"] if latest else 0) + 1
        try:
            self.db.dispatch_rule_history.insert_one({"_id": revision, "rules": rules})
        except DuplicateKeyError:
            raise Conflict("Someone changed the rule table at the same moment; "
                           "fetch it again and reapply your change.") from None
        self.db.dispatch_rules.replace_one({"_id": "current"},
                                           {"revision": revision, "rules": rules}, upsert=True)
        return revision

    def add_dispatch(self, record, event, event_key):
        return self.dispatches.create(record, [event], handled=event_key)

    def dispatch(self, petition_id, round):
        return self.dispatches.get(dispatch_id(petition_id, round))

    def dispatches_of(self, petition_id):
        return list(self.db.dispatches.find({"petition_id": petition_id},
                                            {"outbox": 0, "handled": 0}).sort("round"))
