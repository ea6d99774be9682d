"""The grid service's database: the registry, the rules and calendar, the teams it may
dispatch to, and the dispatches."""

from pymongo import ASCENDING

from services.grid.accounts import Area
from services.grid.calendar import WorkCalendar
from services.grid.dispatcher import ANY, dispatch_id
from services.grid.registry import LEVELS
from shared import geo
from shared.errors import Conflict
from shared.storage import AggregateCollection, MongoStore, Recent, insert_once

PLACE_LEVELS = [level for level in LEVELS if level != "grids"]
HIDDEN = {"outbox": 0, "handled": 0, "outbox_pending": 0, "version": 0}


ACCOUNTS = {"user": "users", "service": "service_accounts"}
AREA_KEYS = ("_id", "workstation_id", "community_id", "sub_district_id", "district_id")


class GridStore(MongoStore):
    SHAPE = 2

    def __init__(self, db):
        super().__init__(db)
        self.grids = AggregateCollection(db.grids)
        self.dispatches = AggregateCollection(db.dispatches)
        self._volunteer_teams = (None, {})
        self._rules = Recent(self._read_rules)
        self._calendar = Recent(self._read_calendar, immutable=True)

    def ensure_indexes(self):
        self.grids.ensure_indexes()
        self.dispatches.ensure_indexes()
        index = self.db.dispatches.create_index
        index([("petition_id", ASCENDING), ("round", ASCENDING)])
        index([("handler_key", ASCENDING), ("open", ASCENDING)])
        index([("open", ASCENDING), ("next_clock_at", ASCENDING)])
        index([("state", ASCENDING)])
        self.db.grids.create_index([("tiles", ASCENDING)])
        for key in AREA_KEYS[1:]:
            self.db.grids.create_index([(key, ASCENDING)])

    def upgrade(self):
        """Bring dispatches and rules written by the foundation release to today's shape;
        grids registered before points were located by tile get their tiles."""
        geo.add_missing_tiles(self.db.grids)
        for doc in self.db.dispatches.find({"round": {"$exists": False}}):
            # Perhaps copied before a crash; the old one is removed below.
            insert_once(self.db.dispatches, {**doc, "_id": dispatch_id(doc["_id"], 1), "round": 1})
            self.db.dispatches.delete_one({"_id": doc["_id"]})
        # Their clocks are not resumed: they predate them.
        self.db.dispatches.update_many({"open": {"$exists": False}}, {"$set": {
            "open": False, "state": "before_clocks", "excluded": [], "returns": 0,
            "clock_steps": [], "acknowledged_at": None, "paused_since": None, "extension": None,
            "final": False, "next_clock_at": None}, "$inc": {"version": 1}})
        current = self.db.dispatch_rules.find_one({"_id": "current"})
        if current and any("acknowledge_hours" in rule for rule in current["rules"]):
            self.replace_rules([{
                **{k: v for k, v in rule.items() if not k.endswith("_hours")},
                "area": rule.get("area", ANY),
                "acknowledge_within": {"amount": rule["acknowledge_hours"], "unit": "hours"},
                "finish_within": {"amount": rule["finish_hours"], "unit": "hours"},
            } for rule in current["rules"]])

    # The registry

    def save_places(self, registry):
        for level in PLACE_LEVELS:
            for place in registry[level]:
                self.db[level].replace_one({"_id": place["id"]},
                                           {"_id": place["id"], **place}, upsert=True)

    def grid(self, grid_id):
        return self.grids.get(grid_id)

    # Accounts: people in ``users``, other systems in ``service_accounts``

    def account(self, kind, account_id):
        return self.db[ACCOUNTS[kind]].find_one({"_id": account_id})

    def save_account(self, kind, account_id, fields):
        self.db[ACCOUNTS[kind]].update_one({"_id": account_id}, {"$set": fields}, upsert=True)
        return self.account(kind, account_id)

    def is_place(self, place_id):
        return self.place(place_id)[1] is not None

    def area(self, place_id):
        """The grids under a place of any level, and their communities."""
        if not place_id:
            return Area((), ())
        # A query a level, each an indexed equality: FerretDB reads every grid for an $or.
        found = [grid for key in AREA_KEYS
                 for grid in self.db.grids.find({key: place_id}, {"community_id": 1})]
        return Area(tuple(sorted({g["_id"] for g in found})),
                    tuple(sorted({g["community_id"] for g in found})))

    def grids_in(self, community_id):
        """The community's grids, by id, with their names."""
        return [{"id": g["_id"], "name": g["name"]} for g in
                self.db.grids.find({"community_id": community_id}, {"name": 1}).sort("_id")]

    def grid_at(self, lat, lng):
        """The grid whose boundary holds the point, or None."""
        return geo.covering(self.db.grids, lat, lng)

    def register_grid(self, grid_id, decide):
        """Create or change a grid through ``decide(current or None) -> Change | None``;
        its tiles are kept beside it for locating points."""
        def with_tiles(current):
            change = decide(current)
            if change is not None:
                boundary = change.set.get("boundary")
                change.set["tiles"] = geo.tiles(boundary) if boundary else []
            return change

        self.grids.put(grid_id, with_tiles)

    def registry(self):
        """The whole registry as one document, in the shape it is imported."""
        document = {level: [dict(p) for p in self.db[level].find().sort("_id")]
                    for level in PLACE_LEVELS}
        for places in document.values():
            for place in places:
                del place["_id"]
        document["grids"] = [{
            "id": g["_id"], "name": g["name"], "workstation_id": g["workstation_id"],
            "households": g["households"], "population": g["population"],
            "boundary": geo.from_text(g.get("boundary")), "butler_team": g.get("butler_team", {}),
        } for g in self.db.grids.find({}, HIDDEN).sort("_id")]
        return document

    def place(self, place_id):
        for level in LEVELS:
            found = self.db[level].find_one({"_id": place_id}, HIDDEN)
            if found:
                return level, found
        return None, None

    # Rules, calendar and teams

    def rules(self):
        """The rule table in force (every order reads it; see ``Recent``)."""
        return self._rules.get()

    def _read_rules(self):
        doc = self.db.dispatch_rules.find_one({"_id": "current"}, {"_id": 0})
        return doc or {"revision": 0, "rules": []}

    def replace_rules(self, rules):
        """Store a new revision of the rule table and keep every earlier one.

        The history is written first and numbers the revisions, so a crash
        between the two writes leaves an orphan revision, never a stuck counter.
        """
        latest = self.db.dispatch_rule_history.find_one({}, sort=[("_id", -1)])
        revision = (latest["_id"] if latest else 0) + 1
        if not insert_once(self.db.dispatch_rule_history, {"_id": revision, "rules": rules}):
            raise Conflict("Someone changed the rule table at the same moment; "
                           "fetch it again and reapply your change.")
        self.db.dispatch_rules.replace_one({"_id": "current"},
                                           {"revision": revision, "rules": rules}, upsert=True)
        self._rules.forget()
        return revision

    def rule_history(self, revision):
        return self.db.dispatch_rule_history.find_one({"_id": revision})

    def calendar(self):
        """The work calendar in force (every clock reads it; see ``Recent``)."""
        return self._calendar.get()

    def _read_calendar(self):
        doc = self.db.calendar.find_one({"_id": "current"}, {"_id": 0})
        if doc is None:
            return WorkCalendar()
        # Periods are stored as objects: FerretDB cannot store nested arrays.
        doc["working_hours"] = [[p["start"], p["end"]] for p in doc["working_hours"]]
        return WorkCalendar.from_document(doc)

    def save_calendar(self, calendar):
        doc = calendar.to_document()
        doc["working_hours"] = [{"start": start, "end": end} for start, end in doc["working_hours"]]
        self.db.calendar.replace_one({"_id": "current"}, doc, upsert=True)
        self._calendar.forget()

    def volunteer_teams(self):
        """The volunteer teams, {id: team}, which are all the rules can name (a butler team is
        the grid's own). A city has a thousand or more and every order asks, so they are
        kept in the process and read again only once a team has been registered since
        (the ``teams`` revision, read first: a team written meanwhile raises it after)."""
        revision = (self.db.revisions.find_one({"_id": "teams"}) or {}).get("revision", 0)
        if self._volunteer_teams[0] != revision:
            self._volunteer_teams = (revision, {t["_id"]: t for t in self.db.teams.find(
                {"kind": "volunteer_team"})})
        return self._volunteer_teams[1]

    def track_team(self, team):
        self.db.teams.replace_one({"_id": team["team_id"]}, {
            "_id": team["team_id"], "name": team["name"], "kind": team["kind"],
            "skills": team["skills"]}, upsert=True)
        self.teams_changed()

    def teams_changed(self):
        self.db.revisions.update_one({"_id": "teams"}, {"$inc": {"revision": 1}}, upsert=True)

    # Dispatches

    def add_dispatch(self, record, events, event_key):
        return self.dispatches.create(record, events, handled=event_key)

    def dispatch(self, petition_id, round):
        return self.dispatches.get(dispatch_id(petition_id, round))

    def latest_dispatch(self, petition_id):
        found = list(self.db.dispatches.find({"petition_id": petition_id}, {"round": 1})
                     .sort("round", -1).limit(1))
        return self.dispatch(petition_id, found[0]["round"]) if found else None

    def change_dispatch(self, record_id, decide, handled=None):
        return self.dispatches.change(record_id, decide, handled=handled)

    def dispatches_of(self, petition_id):
        return list(self.db.dispatches.find({"petition_id": petition_id}, HIDDEN).sort("round"))

    def open_load(self, keys):
        """Open orders per handler: what the dispatcher balances."""
        return {key: self.db.dispatches.count_documents({"handler_key": key, "open": True})
                for key in keys}

    def clocks_due(self, now, limit=500):
        return [d["_id"] for d in self.db.dispatches.find(
            {"open": True, "next_clock_at": {"$lte": now.isoformat()}}, {"_id": 1}).limit(limit)]

    def awaiting_ruling(self, limit=200):
        return list(self.db.dispatches.find({"state": "awaiting_ruling"}, HIDDEN).limit(limit))
