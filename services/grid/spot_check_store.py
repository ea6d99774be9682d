"""The spot checks' collections in the grid service's database: the draws (one per grid
and week, keyed so, kept as drawn) and the checks, aggregates that carry their own outbox
so an overturn and its event are one write."""

from pymongo import ASCENDING

from shared.storage import AggregateCollection, MongoStore, insert_once

HIDDEN = {"outbox": 0, "handled": 0, "outbox_pending": 0, "version": 0}
LIMIT = 500


class SpotCheckStore(MongoStore):
    def __init__(self, db):
        super().__init__(db)
        self.checks = AggregateCollection(db.spot_checks)

    def ensure_indexes(self):
        self.checks.ensure_indexes()
        for field in ("grid_id", "checker.id", "week"):
            self.db.spot_checks.create_index([(field, ASCENDING)])
        self.db.spot_check_draws.create_index([("week", ASCENDING)])

    def record_draw(self, draw):
        """Keep a draw unless the grid's week was drawn already: (the draw kept, whether it
        is this one). Two sweeps racing keep the first; neither draws again."""
        if insert_once(self.db.spot_check_draws, draw):
            return draw, True
        return self.db.spot_check_draws.find_one({"_id": draw["_id"]}), False

    def draws(self, week, grid_ids=None):
        """A week's draws, of the grids in ``grid_ids`` (None: all)."""
        criteria = {"week": week}
        if grid_ids is not None:
            criteria["grid_id"] = {"$in": list(grid_ids)}
        return list(self.db.spot_check_draws.find(criteria).sort("_id"))

    def add_check(self, check):
        """Create the check unless it exists: a draw's checks are made again after a crash."""
        self.checks.create(check)

    def check(self, check_id):
        return self.db.spot_checks.find_one({"_id": check_id}, HIDDEN)

    def decide(self, check_id, decide):
        return self.checks.change(check_id, decide)

    def find(self, criteria, visible_to):
        """Checks matching ``criteria``, of the grids in ``visible_to`` (None: all) or
        assigned to the checker it names, oldest first."""
        if visible_to is not None:
            grids, checker_id = visible_to
            mine = [{"checker.id": checker_id}] if checker_id else []
            criteria = {**criteria, "$or": [{"grid_id": {"$in": list(grids)}}, *mine]}
        return list(self.db.spot_checks.find(criteria, HIDDEN).sort("_id").limit(LIMIT))
