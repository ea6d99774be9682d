"""The petition service's database: petitions, and its own copy of the grid registry."""

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from shared.storage import AggregateCollection, MongoStore


class PetitionStore(MongoStore):
    def __init__(self, db):
        super().__init__(db)
        self.petitions = AggregateCollection(db.petitions)

    def ensure_indexes(self):
        self.petitions.ensure_indexes()
        self.db.petitions.create_index([("grid_id", ASCENDING), ("stage", ASCENDING),
                                        ("raised_at", DESCENDING)])

    def add(self, petition, events):
        self.petitions.create(petition, events)

    def get(self, petition_id):
        return self.petitions.get(petition_id)

    def follow(self, petition_id, decide, event_key):
        return self.petitions.change(petition_id, decide, handled=event_key)

    def grid(self, grid_id):
        return self.db.grids.find_one({"_id": grid_id})

    def grids(self):
        return list(self.db.grids.find({}, {"_id": 1, "name": 1, "community_id": 1}).sort("_id"))

    def track_grid(self, grid):
        """Keep the newest revision of a grid; an older or repeated one changes nothing."""
        try:
            self.db.grids.update_one({"_id": grid["grid_id"], "revision": {"$lt": grid["revision"]}},
                                     {"$set": grid}, upsert=True)
        except DuplicateKeyError:
            pass
