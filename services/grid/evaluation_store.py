"""The evaluation's collections in the grid service's database: the events it folds
(its log, keyed by each event's identity, so a redelivery adds nothing) and the facts
folded from them, one document per petition."""

from datetime import UTC

from pymongo import ASCENDING

from services.grid import evaluation
from shared.events import now
from shared.storage import AggregateCollection, MongoStore, insert_once


class EvaluationStore(MongoStore):
    # 2: facts carry a version (and the keys of the events they hold), so a fold is saved
    # only onto the facts it was made from.
    SHAPE = 2

    def __init__(self, db):
        super().__init__(db)
        self.facts = AggregateCollection(db.petition_facts)

    def ensure_indexes(self):
        self.db.evaluation_events.create_index([("petition_id", ASCENDING)])
        # Equalities on these arrays are what every figure selects by.
        for field in ("places", "handlers", "departments", "month"):
            self.db.petition_facts.create_index([(field, ASCENDING)])
        # The spot checks' weekly population: closures in a week.
        self.db.petition_facts.create_index([("closed.at", ASCENDING)])
        # The gauges' read of what changed in a minute.
        self.db.petition_facts.create_index([("changed", ASCENDING)])

    def upgrade(self):
        self.facts.add_missing_versions()

    def record(self, event, data):
        """Keep the event, with its data as it travelled, in the log (once); returns it as
        the log holds it."""
        entry = {"_id": event.key, "petition_id": data["petition_id"], "type": event.type,
                 "id": event.id, "time": event.time.astimezone(UTC).isoformat(), "data": data}
        insert_once(self.db.evaluation_events, entry)
        return entry

    def events_of(self, petition_id):
        return list(self.db.evaluation_events.find({"petition_id": petition_id}))

    def petitions_logged(self):
        return self.db.evaluation_events.distinct("petition_id")

    def keep_facts(self, petition_id, folded, handled=None):
        """Save ``folded(facts as stored, or None)`` as the petition's facts (see
        ``AggregateCollection.keep``), stamped with the minute of the change."""
        changed = evaluation.minute_of(now())
        self.facts.keep(petition_id, lambda stored: {**folded(stored), "changed": changed},
                        handled)

    def facts_changed(self, minute):
        """The facts last changed in ``minute`` (``evaluation.minute_of``)."""
        return list(self.db.petition_facts.find({"changed": minute}))

    def facts_with(self, field, value):
        return list(self.db.petition_facts.find({field: value}))

    def closed_between(self, start, end, grid_id=None):
        """The facts of the petitions whose last closure was in [start, end) (UTC ISO text),
        in one grid or in any; a petition closed without a dispatch (merged) has no grid."""
        criteria = {"closed.at": {"$gte": start, "$lt": end}, "grid_id": grid_id or {"$ne": None}}
        return list(self.db.petition_facts.find(criteria, {"grid_id": 1, "closed": 1, "rounds": 1}))
