"""The audit trail: who did what, when, from where, in each service's own database.

Every request that changes something, and every request refused for want of a token,
role or scope, leaves one entry. Entries are only ever inserted: no code path updates
or deletes them, and in production the service's database user should hold insert
and find on ``audit`` and nothing more.
"""

from pymongo import ASCENDING, DESCENDING

from shared.storage import MongoStore

FIELDS = ("at", "actor", "role", "kind", "method", "path", "status", "client", "forwarded_for",
          "correlation_id")


class AuditLog(MongoStore):
    def ensure_indexes(self):
        self.db.audit.create_index([("at", DESCENDING), ("_id", DESCENDING)])
        self.db.audit.create_index([("actor", ASCENDING), ("at", DESCENDING)])

    def record(self, entry):
        self.db.audit.insert_one(dict(entry))

    def entries(self, query):
        """Newest first, at most ``limit``, optionally by actor and within [since, until)."""
        criteria = {}
        if query.get("actor"):
            criteria["actor"] = query["actor"]
        window = {op: query[name].isoformat() for name, op in (("since", "$gte"),
                                                               ("until", "$lt"))
                  if query.get(name)}
        if window:
            criteria["at"] = window
        found = self.db.audit.find(criteria, {"_id": 0}).sort([("at", DESCENDING),
                                                             ("_id", DESCENDING)])
        return list(found.limit(query["limit"]))
