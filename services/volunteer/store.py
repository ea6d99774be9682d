"""The volunteer service's database: volunteers, teams, tasks and reports to the community.
(The morality bank's ledger has its own store, bank_store.py.)"""

from datetime import timedelta

from pymongo import ASCENDING, ReturnDocument

from shared.storage import AggregateCollection, MongoStore

LIVE = ("open", "claimed", "submitted")
HIDDEN = {"outbox": 0, "handled": 0, "outbox_pending": 0}


class VolunteerStore(MongoStore):
    SHAPE = 2

    def __init__(self, db):
        super().__init__(db)
        self.tasks = AggregateCollection(db.tasks)
        self.teams = AggregateCollection(db.teams)
        self.reports = AggregateCollection(db.community_reports)

    def ensure_indexes(self):
        for aggregates in (self.tasks, self.teams, self.reports):
            aggregates.ensure_indexes()
        self.db.tasks.create_index([("team_id", ASCENDING), ("status", ASCENDING)])
        self.db.tasks.create_index([("petition_id", ASCENDING)])
        self.db.tasks.create_index([("status", ASCENDING)])
        self.db.volunteers.create_index([("community_id", ASCENDING)])
        self.db.volunteers.create_index([("claiming", ASCENDING)])
        self.db.community_reports.create_index([("community_id", ASCENDING)])

    def upgrade(self):
        """Tasks opened before dispatch rounds belonged to the first; teams that embedded
        their members now reference registered volunteers; volunteers holding claims
        from before ``claiming`` are marked with it."""
        self.db.volunteers.update_many({"open_claims": {"$gt": 0}, "claiming": {"$exists": False}},
                                       {"$set": {"claiming": True}})
        self.db.tasks.update_many({"round": {"$exists": False}},
                                  {"$set": {"round": 1}, "$inc": {"version": 1}})
        for team in self.db.teams.find({"leader_id": {"$exists": False}}):
            members = team.get("members", [])
            for member in members:
                self.save_volunteer(member["id"], {
                    "name": member["name"], "skills": member.get("skills", []), "trades": [],
                    "qualifications": [], "availability": [], "home_grid_id": None,
                    "community_id": None, "grids": ["*"], "party_member": member.get(
                        "party_member", False), "branch_id": "branch-county", "staff": False})
            ids = [m["id"] for m in members]
            self.db.teams.update_one({"_id": team["_id"]}, {"$set": {
                "members": ids, "leader_id": ids[0] if ids else None, "roles": {}},
                "$inc": {"version": 1}})

    # Volunteers

    def save_volunteer(self, volunteer_id, record):
        """Register or update; the count of open claims is the store's, never overwritten."""
        self.db.volunteers.update_one({"_id": volunteer_id},
                                      {"$set": record, "$setOnInsert": {"open_claims": 0}},
                                      upsert=True)

    def volunteer(self, volunteer_id):
        return self.db.volunteers.find_one({"_id": volunteer_id})

    def known_volunteers(self, ids):
        # One lookup by id each: FerretDB answers an $in by reading every volunteer.
        return {id for id in ids if self.db.volunteers.find_one({"_id": id}, {"_id": 1})}

    def reserve_claim(self, volunteer_id, most, at):
        """Hold one of the volunteer's open-claim slots, atomically; None when all are taken.
        The volunteer is marked ``claiming`` until a recount finds no claim held, so the
        recount reads the volunteers who claim, not all of them."""
        return self.db.volunteers.find_one_and_update(
            {"_id": volunteer_id, "open_claims": {"$lt": most}},
            {"$inc": {"open_claims": 1}, "$set": {"reserved_at": at.isoformat(), "claiming": True}},
            return_document=ReturnDocument.AFTER)

    def free_claim(self, volunteer_id):
        self.db.volunteers.update_one({"_id": volunteer_id, "open_claims": {"$gt": 0}},
                                      {"$inc": {"open_claims": -1}})

    def reconcile_claims(self, now):
        """Recount open claims from the tasks: a crash between a reservation and its claim
        (or its release) leaves the count off by one until this runs. Volunteers who
        reserved a slot in the last minute are left alone: their claim may be in flight."""
        held = {}
        for task in self._tasks_in(LIVE, {"claims": 1}):
            for claim in task["claims"]:
                if claim["state"] == "active":
                    held[claim["volunteer_id"]] = held.get(claim["volunteer_id"], 0) + 1
        settled = (now - timedelta(minutes=1)).isoformat()
        for volunteer in self.db.volunteers.find({"claiming": True},
                                                 {"open_claims": 1, "reserved_at": 1}):
            count = held.get(volunteer["_id"], 0)
            if volunteer.get("reserved_at", "") >= settled or (
                    count and count == volunteer["open_claims"]):
                continue
            self.db.volunteers.update_one(
                {"_id": volunteer["_id"], "open_claims": volunteer["open_claims"],
                 "reserved_at": volunteer.get("reserved_at")},
                {"$set": {"open_claims": count, "claiming": count > 0}})

    # Teams

    def save_team(self, team_id, decide):
        self.teams.put(team_id, decide)

    def team(self, team_id):
        return self.teams.get(team_id)

    def teams_of(self, volunteer_id):
        return list(self.db.teams.find({"members": volunteer_id}, HIDDEN))

    # Tasks

    def open_task(self, task, event, event_key):
        self.tasks.create(task, [event], handled=event_key)

    def task(self, task_id):
        return self.tasks.get(task_id)

    def change_task(self, task_id, decide, handled=None):
        return self.tasks.change(task_id, decide, handled=handled)

    def find_tasks(self, team_ids, status=None, limit=200):
        query = {"team_id": {"$in": list(team_ids)}}
        if status:
            query["status"] = status
        return list(self.db.tasks.find(query, HIDDEN).sort("opened_at", -1).limit(limit))

    def live_tasks_of(self, petition_id):
        return [t["_id"] for t in self.db.tasks.find(
            {"petition_id": petition_id, "status": {"$in": list(LIVE)}}, {"_id": 1})]

    def claimed_tasks(self, limit=1000):
        """Tasks with places held: the sweep looks for claims that have stalled."""
        return [t["_id"] for t in self._tasks_in(("open", "claimed"), {"claims": 1})
                if any(c["state"] == "active" for c in t["claims"])][:limit]

    def _tasks_in(self, statuses, fields):
        """Tasks in any of the statuses, a status at a time: each an indexed equality, where
        FerretDB would answer an $in by reading every task."""
        return [t for status in statuses for t in self.db.tasks.find({"status": status}, fields)]

    def notices_for(self, team_id, limit=100):
        found = self.db.tasks.find({"team_id": team_id, "notices": {"$ne": []}}, {"notices": 1})
        return [notice for task in found.limit(limit) for notice in task.get("notices", [])]

    # Reports to the community and its figures

    def add_report(self, record, events):
        self.reports.create(record, events)

    def figures(self, community_id):
        volunteers = list(self.db.volunteers.find({"community_id": community_id, "staff": False},
                                                  {"party_member": 1}))
        reported = {r["volunteer_id"] for r in self.db.community_reports.find(
            {"community_id": community_id}, {"volunteer_id": 1})}
        completed = self.db.tasks.count_documents({"community_id": community_id,
                                                   "status": "completed"})
        return {"volunteers": len(volunteers),
                "party_members": sum(1 for v in volunteers if v["party_member"]),
                "party_members_reported": len(reported), "tasks_completed": completed}
