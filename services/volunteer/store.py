"""The volunteer service's database: teams with their members, and tasks."""

from pymongo import ASCENDING

from shared.storage import AggregateCollection, MongoStore


class VolunteerStore(MongoStore):
    def __init__(self, db):
        super().__init__(db)
        self.tasks = AggregateCollection(db.tasks)
        self.teams = AggregateCollection(db.teams)

    def ensure_indexes(self):
        self.tasks.ensure_indexes()
        self.teams.ensure_indexes()
        self.db.tasks.create_index([("team_id", ASCENDING), ("status", ASCENDING)])

    def upgrade(self):
        """Tasks opened before dispatch rounds belonged to the first."""
        self.db.tasks.update_many({"round": {"$exists": False}}, {"$set": {"round": 1}})

    def save_team(self, team_id, decide):
        self.teams.put(team_id, decide)

    def team(self, team_id):
        return self.teams.get(team_id)

    def open_task(self, task, event, event_key):
        self.tasks.create(task, [event], handled=event_key)

    def task(self, task_id):
        return self.tasks.get(task_id)

    def change_task(self, task_id, decide):
        return self.tasks.change(task_id, decide)

    def find_tasks(self, team_id, status, limit=100):
        query = {"team_id": team_id}
        if status:
            query["status"] = status
        return list(self.db.tasks.find(query, {"outbox": 0, "handled": 0}).limit(limit))
