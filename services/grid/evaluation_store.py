"""The evaluation's collections in the grid service's database: the events it folds
(its log, keyed by each event's identity, so a redelivery adds nothing) and the facts
folded from them, one document per petition."""

from datetime import UTC

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from shared.storage import MongoStore, insert_once


class EvaluationStore(MongoStore):
    def ensure_indexes(self):
        self.db.evaluation_events.create_index([("petition_id", ASCENDING)])
        # Equalities on these arrays are what every figure selects by.
        for field in ("places", "handlers", "departments", "month"):
            self.db.petition_facts.create_index([(field, ASCENDING)])
        # The spot checks' weekly population: closures in a week.
        self.db.petition_facts.create_index([("closed.at", ASCENDING)])

    def record(self, event, data):
        """Keep the event, with its data as it travelled, in the log (once)."""
        insert_once(self.db.evaluation_events,
                    {"_id": event.key, "petition_id": data["petition_id"], "type": event.type,
                     "id": event.id, "time": event.time.astimezone(UTC).isoformat(),
                     "data": data})

    def events_of(self, petition_id):
        return list(self.db.evaluation_events.find({"petition_id": petition_id}))

    def petitions_logged(self):
        return self.db.evaluation_events.distinct("petition_id")

    def save_facts(self, facts):
        """Keep the facts unless a fold of more events was kept already: two workers may
        fold one petition at once, and the later fold of the log sees every event the
        earlier one did."""
        not_fuller = {"_id": facts["_id"], "events": {"$lte": facts["events"]}}
        try:
            self.db.petition_facts.replace_one(not_fuller, facts, upsert=True)
        except DuplicateKeyError:
            # Another fold inserted the petition's first facts in between; they may hold
            # fewer events than these, so try once more, as a replacement only.
            self.db.petition_facts.replace_one(not_fuller, facts)

    def facts_with(self, field, value):
        return list(self.db.petition_facts.find({field: value}))

    def closed_between(self, start, end, grid_id=None):
        """The facts of the petitions whose last closure was in [start, end) (UTC ISO text),
        in one grid or in any; a petition closed without a dispatch (merged) has no grid."""
        criteria = {"closed.at": {"$gte": start, "$lt": end}, "grid_id": grid_id or {"$ne": None}}
        return list(self.db.petition_facts.find(criteria, {"grid_id": 1, "closed": 1, "rounds": 1}))
