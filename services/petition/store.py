"""The petition service's database: petitions, proposals, categories, and its own
copy of the grid registry (learnt from grid.registered events)."""

import base64
import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from services.petition.categories import DEFAULT_CATEGORIES
from services.petition.domain import FINAL, WORK
from services.petition.figures import OPEN
from shared import geo
from shared.errors import InvalidFields
from shared.storage import AggregateCollection, MongoStore, Recent, insert_once

NEWEST_FIRST = [("raised_at", DESCENDING), ("_id", DESCENDING)]
HIDDEN = {"outbox": 0, "handled": 0, "timeline": 0}
# The levels of area a grid belongs to, each a field of the grid's copy here.
AREA_LEVELS = ("_id", "workstation_id", "community_id", "sub_district_id", "district_id")


FIGURES = {field: 1 for field in ("grid_id", "community_id", "state", "raised_at",
                                   "dispatched_at", "acknowledge_by", "acknowledged_at",
                                   "resolved_at", "finish_by", "ratings", "escalation_level",
                                   "funding", "handler")}


def with_keys(petition):
    """The petition with the keys it is found by (``keys_of``)."""
    return {**petition, **keys_of(petition)}


def keys_of(petition):
    """The keys the petition's checks and sweeps find it by, each one indexed equality,
    which FerretDB pushes down (it reads every document for anything else):

    - ``open_in``, ``<grid>/<category>`` while it is open and None once it is closed,
      rejected or merged: the duplicate check reads the grid's open petitions of the
      category rather than all it ever had (24 ms a check at 2,000 petitions);
    - ``contact_closed_hour``, the UTC hour it closed while it still holds its reporter's
      contact, else None: the retention sweep reads an hour of closures at a time.
    """
    is_open = petition.get("state") not in (*FINAL, "merged")
    reporter = petition.get("reporter")
    holds_contact = petition.get("closed_at") and reporter and "removed_at" not in reporter
    return {"open_in": f"{petition.get('grid_id')}/{petition.get('category')}" if is_open else None,
            "contact_closed_hour": _utc_hour(petition["closed_at"]) if holds_contact else None}


def _utc_hour(time):
    """"2026-12-04T03" for any ISO time in that UTC hour."""
    return datetime.fromisoformat(time).astimezone(UTC).isoformat()[:13]


def _hour_before(hour):
    return (_start_of(hour) - timedelta(hours=1)).isoformat()[:13]


def _hours_after(hour, last):
    """The UTC hours after ``hour`` up to ``last``, both as ``_utc_hour`` gives them."""
    at, end = _start_of(hour), _start_of(last)
    while at < end:
        at += timedelta(hours=1)
        yield at.isoformat()[:13]


def _start_of(hour):
    return datetime.fromisoformat(f"{hour}:00+00:00")


# The sweeps' record of the last hour of closures whose contacts are all forgotten.
FORGOTTEN_THROUGH = "forgotten_through"


class PetitionStore(MongoStore):
    SHAPE = 4

    def __init__(self, db):
        super().__init__(db)
        self.petitions = AggregateCollection(db.petitions)
        self.proposals = AggregateCollection(db.proposals)
        self._categories = Recent(lambda: {c["_id"]: c for c in self.db.categories.find()})

    def ensure_indexes(self):
        self.petitions.ensure_indexes()
        self.proposals.ensure_indexes()
        index = self.db.petitions.create_index
        # Staff queries: each filter leads an index whose tail is the page order.
        for lead in ("grid_id", "community_id", "state", "category", "channel"):
            index([(lead, ASCENDING), *NEWEST_FIRST])
        index(NEWEST_FIRST)
        index([("grid_id", ASCENDING), ("category", ASCENDING), ("state", ASCENDING),
               ("raised_at", DESCENDING)])
        for deadline in ("finish_by", "resolved_at", "verified_at"):
            index([("state", ASCENDING), (deadline, ASCENDING)])
        index([("token", ASCENDING)])
        index([("open_in", ASCENDING)])
        index([("contact_closed_hour", ASCENDING)])
        index([("proposal_id", ASCENDING)])
        for level in AREA_LEVELS[1:]:
            self.db.grids.create_index([(level, ASCENDING)])
        self.db.grids.create_index([("tiles", ASCENDING)])
        self.db.proposals.create_index([("community_id", ASCENDING), ("submitted_at", DESCENDING)])
        for category in DEFAULT_CATEGORIES:
            # Insert, not upsert with $setOnInsert: FerretDB drops empty arrays from those.
            # Defined already, perhaps changed by the city: keep theirs.
            insert_once(self.db.categories, dict(category))

    # Petitions written before the 12345 lifecycle moved through "stages".
    STAGE_TO_STATE = {"raised": "accepted", "dispatched": "dispatched", "task_opened": "dispatched",
                      "claimed": "acknowledged", "completed": "resolved", "closed": "closed"}

    def upgrade(self):
        """Petitions that moved through stages get lifecycle states; then every petition
        written before the duplicate check read ``open_in``, or before the retention sweep
        read ``contact_closed_hour``, gets them (and the sweep finds its first hour
        again); every grid kept before points were located by tile gets its tiles."""
        for doc in self.db.petitions.find({"stage": {"$exists": True}}, {"stage": 1, "raised_at": 1}):
            state = self.STAGE_TO_STATE[doc["stage"]]
            self.db.petitions.update_one({"_id": doc["_id"], "stage": doc["stage"]}, {
                "$unset": {"stage": ""},
                "$set": {"state": state, "round": 1, "escalation_level": 0,
                         "merged_petitions": [], "ratings": [], "duplicate_candidates": [],
                         "attributes": {}, "attachments": [], "token": uuid.uuid4().hex,
                         "updated_at": doc["raised_at"],
                         **({"outcome": "closed_before_follow_up"} if state == "closed" else {})},
                "$inc": {"version": 1}})

        for doc in self.db.petitions.find(
                {"contact_closed_hour": {"$exists": False}},
                {"grid_id": 1, "category": 1, "state": 1, "closed_at": 1, "reporter": 1}):
            self.db.petitions.update_one(
                {"_id": doc["_id"], "contact_closed_hour": {"$exists": False}},
                {"$set": keys_of(doc), "$inc": {"version": 1}})
        self.db.sweeps.delete_one({"_id": FORGOTTEN_THROUGH})
        geo.add_missing_tiles(self.db.grids)

    # Petitions

    def add(self, petition, events):
        self.petitions.create(with_keys(petition), events)

    def get(self, petition_id):
        return self.petitions.get(petition_id)

    def change(self, petition_id, decide, handled=None):
        def decided(doc):
            change = decide(doc)
            if change is None:
                return None
            return replace(change, set={**change.set, **keys_of({**doc, **change.set})})

        decided.new_attempt = getattr(decide, "new_attempt", lambda: None)
        return self.petitions.change(petition_id, decided, handled=handled)

    def by_token(self, token):
        return self.db.petitions.find_one({"token": token}, {"_id": 1, "token": 1})

    def open_nearby(self, grid_id, category, since):
        """Open petitions of a category in a grid raised since a time: duplicate candidates."""
        return list(self.db.petitions.find(
            {"open_in": f"{grid_id}/{category}", "raised_at": {"$gte": since.isoformat()}},
            {"location": 1, "raised_at": 1}).limit(100))

    def query(self, filters, now):
        """One page of petitions, newest first; the cursor continues after the last one."""
        query = {key: filters[key] for key in
                 ("grid_id", "community_id", "state", "category", "channel") if key in filters}
        if "grid_ids" in filters and "grid_id" not in query:
            query["grid_id"] = {"$in": list(filters["grid_ids"])}
        raised = {}
        if "raised_from" in filters:
            raised["$gte"] = filters["raised_from"].isoformat()
        if "raised_to" in filters:
            raised["$lt"] = filters["raised_to"].isoformat()
        if raised:
            query["raised_at"] = raised
        if filters.get("overdue"):
            query["state"] = {"$in": list(WORK[:3])} if "state" not in query else query["state"]
            query["finish_by"] = {"$lt": now.isoformat()}
        if "cursor" in filters:
            raised_at, last_id = decode_cursor(filters["cursor"])
            query["$or"] = [{"raised_at": {"$lt": raised_at}},
                            {"raised_at": raised_at, "_id": {"$lt": last_id}}]
        page = list(self.db.petitions.find(query, HIDDEN).sort(NEWEST_FIRST)
                    .limit(filters["limit"] + 1))
        more = len(page) > filters["limit"]
        page = page[:filters["limit"]]
        cursor = encode_cursor(page[-1]["raised_at"], page[-1]["_id"]) if more else None
        return page, cursor

    def open311_requests(self, criteria, limit):
        if "ids" in criteria:
            query = {"_id": {"$in": criteria["ids"]}}
        else:
            query = {"raised_at": {"$gte": criteria["start"]}}
            if criteria["end"]:
                query["raised_at"]["$lte"] = criteria["end"]
            if criteria["service_codes"]:
                query["category"] = {"$in": criteria["service_codes"]}
        docs = self.db.petitions.find(query, {"outbox": 0, "handled": 0}).sort(NEWEST_FIRST)
        return list(docs.limit(limit))

    def due_for_sweep(self, now, policy, limit=500):
        """Ids of petitions whose follow-up or archive window has passed."""
        follow_up = (now - timedelta(hours=policy.follow_up_hours)).isoformat()
        archive = (now - timedelta(hours=policy.archive_hours)).isoformat()
        queries = [
            {"state": "resolved", "resolved_at": {"$lte": follow_up}},
            {"state": "verified", "verified_at": {"$lte": archive}},
        ]
        ids = []
        for query in queries:
            ids += [d["_id"] for d in self.db.petitions.find(query, {"_id": 1}).limit(limit)]
        return ids

    def grids_within(self, area_id):
        """The ids of the grids in an area of any level (a grid is its own area). One
        indexed equality per level: FerretDB would answer an $or by reading every grid."""
        for level in AREA_LEVELS:
            found = [g["_id"] for g in self.db.grids.find({level: area_id}, {"_id": 1})]
            if found:
                return found
        return []

    def for_figures(self, grid_ids=None, raised_from=None, raised_to=None):
        """The fields the three rates and the operations page need, of the petitions
        raised in a period, in some grids (or all). Grid by grid, each an indexed
        equality: FerretDB reads every petition for an $in, or for the period alone."""
        raised = {op: at.isoformat() for op, at in (("$gte", raised_from), ("$lt", raised_to))
                  if at}
        period = {"raised_at": raised} if raised else {}
        if grid_ids is None:
            return list(self.db.petitions.find(period, FIGURES))
        return [p for grid_id in grid_ids
                for p in self.db.petitions.find({"grid_id": grid_id, **period}, FIGURES)]

    def open_petitions(self):
        """Petitions still being handled, a state at a time: each an indexed equality."""
        return [p for state in OPEN for p in self.db.petitions.find({"state": state}, FIGURES)]

    def reporters_to_forget(self, closed_before, limit=500):
        """Closed petitions past the retention period that still hold a contact, read an hour
        of closures at a time from the first hour that held one at the last sweep."""
        cutoff = closed_before.astimezone(UTC).isoformat()
        last = cutoff[:13]
        through = self._forgotten_through(last)
        found, wholly_forgotten = [], through
        for hour in _hours_after(through, last):
            docs = list(self.db.petitions.find({"contact_closed_hour": hour},
                                               {"reporter": 1, "closed_at": 1}))
            if not docs and hour < last and wholly_forgotten == _hour_before(hour):
                wholly_forgotten = hour
            found += [(d["_id"], d["reporter"]) for d in docs if d["closed_at"] < cutoff]
            if len(found) >= limit:
                break
        if wholly_forgotten != through:
            self.db.sweeps.replace_one({"_id": FORGOTTEN_THROUGH}, {"hour": wholly_forgotten},
                                       upsert=True)
        return found[:limit]

    def _forgotten_through(self, last):
        """The last hour whose closures hold no contact any more (``sweeps``); found the
        first time by reading every closure that holds one, once per database (and after
        an upgrade): the hour before the first, or ``last`` when there is none."""
        kept = self.db.sweeps.find_one({"_id": FORGOTTEN_THROUGH})
        if kept:
            return kept["hour"]
        hours = [d["contact_closed_hour"] for d in self.db.petitions.find(
            {"contact_closed_hour": {"$ne": None}}, {"contact_closed_hour": 1})]
        through = _hour_before(min(hours)) if hours else last
        # Another instance may have found it first, the same way.
        insert_once(self.db.sweeps, {"_id": FORGOTTEN_THROUGH, "hour": through})
        return through

    def forget_reporter(self, petition_id, forgotten):
        """Keep only what the retention rule leaves of the reporter."""
        self.db.petitions.update_one({"_id": petition_id}, {"$set": {
            "reporter": forgotten, "contact_closed_hour": None}, "$inc": {"version": 1}})

    def reporters_to_seal(self, is_current, limit=500):
        """Contacts in the clear (written before sealing began) or under a retired key."""
        found = self.db.petitions.find({"reporter.removed_at": None}, {"reporter": 1})
        return [(d["_id"], d["reporter"]) for d in found
                if "sealed" not in d["reporter"] or not is_current(d["reporter"]["sealed"])
                ][:limit]

    def reseal_due(self, fingerprint, checked_since):
        """Whether contacts may remain that the newest key has not sealed: the key changed
        since the last full pass, or that pass is older than ``checked_since`` (an
        instance still on the old keys during a rollout may have written one since)."""
        last = self.db.sweeps.find_one({"_id": "resealing"})
        return not last or last["fingerprint"] != fingerprint or last["at"] < checked_since

    def record_resealed(self, fingerprint, at):
        self.db.sweeps.replace_one({"_id": "resealing"},
                                   {"fingerprint": fingerprint, "at": at.isoformat()},
                                   upsert=True)

    def replace_reporter(self, petition_id, reporter):
        # Only the reporter changes: a concurrent change of the petition $sets other fields.
        self.db.petitions.update_one({"_id": petition_id}, {"$set": {"reporter": reporter},
                                                            "$inc": {"version": 1}})

    def of_proposal(self, proposal_id):
        return list(self.db.petitions.find({"proposal_id": proposal_id},
                                           {"state": 1, "category": 1, "raised_at": 1}))

    # Categories

    def categories(self, include_inactive=False):
        query = {} if include_inactive else {"active": True}
        return list(self.db.categories.find(query).sort("_id"))

    def category(self, code):
        """Every petition raised asks (see ``Recent``)."""
        return self._categories.get().get(code)

    def save_category(self, category):
        self.db.categories.replace_one({"_id": category["_id"]}, category, upsert=True)
        self._categories.forget()

    # Proposals

    def add_proposal(self, proposal, events):
        self.proposals.create(proposal, events)

    def proposal(self, proposal_id):
        return self.proposals.get(proposal_id)

    def change_proposal(self, proposal_id, decide):
        return self.proposals.change(proposal_id, decide)

    def proposals_of(self, community_id, limit=100):
        query = {"community_id": community_id} if community_id else {}
        return list(self.db.proposals.find(query, {"outbox": 0, "handled": 0})
                    .sort("submitted_at", DESCENDING).limit(limit))

    # The grid registry, as this service knows it

    def grid(self, grid_id):
        return self.db.grids.find_one({"_id": grid_id})

    def grid_at(self, lat, lng):
        """The grid whose boundary holds the point, or None."""
        return geo.covering(self.db.grids, lat, lng)

    def grids(self, with_boundaries=False):
        fields = {"_id": 1, "name": 1, "community_id": 1, "boundary": int(with_boundaries)}
        if not with_boundaries:
            del fields["boundary"]
        return list(self.db.grids.find({}, fields).sort("_id"))

    def track_grid(self, grid):
        """Keep the newest revision of a grid; an older or repeated one changes nothing."""
        try:
            self.db.grids.update_one({"_id": grid["grid_id"], "revision": {"$lt": grid["revision"]}},
                                     {"$set": grid_copy(grid)}, upsert=True)
        except DuplicateKeyError:
            pass


def grid_copy(grid):
    """What this service keeps of a grid (the data of grid.registered), with what locating
    a point needs."""
    boundary = grid.get("boundary")
    return dict(grid, tiles=geo.tiles(boundary) if boundary else [],
                inside=geo.inside_point(boundary) if boundary else None)


def encode_cursor(raised_at, petition_id):
    return base64.urlsafe_b64encode(json.dumps([raised_at, petition_id]).encode()).decode()


def decode_cursor(cursor):
    try:
        raised_at, petition_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return str(raised_at), str(petition_id)
    except (ValueError, TypeError):
        raise InvalidFields("The cursor is not one this service gave out.", fields={
            "cursor": ["Use the next_cursor of the previous page, unchanged."]}) from None
