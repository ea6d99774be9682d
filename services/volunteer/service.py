"""Volunteer service: teams, and the tasks their members claim and complete.

    PUT  /teams/<id>              register or replace a team and its members
    GET  /tasks?team_id=&status=  a team's tasks
    GET  /tasks/<id>
    POST /tasks/<id>/claim        {"volunteer_id": ...}
    POST /tasks/<id>/complete     {"volunteer_id": ..., "hours": ..., "cost_fen": ..., "notes": ...}
"""

from functools import partial

from services.volunteer import domain
from services.volunteer.schemas import Claim, Completion, Task, Team
from services.volunteer.store import VolunteerStore
from shared.consumers import subscribe
from shared.errors import InvalidFields, NotFound
from shared.http import http, json_response, load_json
from shared.outbox import OutboxRelay
from shared.service import PlatformService
from shared.storage import Storage


class VolunteerService(PlatformService):
    name = "volunteer"

    store = Storage(VolunteerStore)
    relay = OutboxRelay("tasks", "teams")

    @http("PUT", "/teams/<team_id>")
    def put_team(self, request, team_id):
        team = load_json(request, Team())
        self.store.save_team(team_id, partial(domain.register_team, team_id, team,
                                              self.correlation_id))
        return json_response({"id": team_id, "members": len(team["members"])})

    @http("GET", "/tasks")
    def list_tasks(self, request):
        team_id = request.args.get("team_id")
        if not team_id:
            raise InvalidFields("Say whose tasks to list.",
                                fields={"team_id": ["Give ?team_id=<team id>."]})
        tasks = self.store.find_tasks(team_id, request.args.get("status"))
        return json_response({"tasks": Task(many=True).dump(tasks)})

    @http("GET", "/tasks/<task_id>")
    def get_task(self, request, task_id):
        return json_response(Task().dump(self._task(task_id)))

    @http("POST", "/tasks/<task_id>/claim")
    def claim(self, request, task_id):
        volunteer_id = load_json(request, Claim())["volunteer_id"]
        team = self.store.team(self._task(task_id)["team_id"])
        task = self.store.change_task(task_id, partial(
            domain.claim, volunteer_id, team, self.correlation_id))
        return json_response(Task().dump(task))

    @http("POST", "/tasks/<task_id>/complete")
    def complete(self, request, task_id):
        report = load_json(request, Completion())
        self._task(task_id)
        task = self.store.change_task(task_id, partial(
            domain.complete, report, self.correlation_id))
        return json_response(Task().dump(task))

    @subscribe("petition.dispatched.v1")
    def open_task(self, event):
        if not domain.takes_tasks(event.data["handler"]):
            return
        task, opened = domain.open_task(event.data, event)
        self.store.open_task(task, opened, event.key)

    def _task(self, task_id):
        task = self.store.task(task_id)
        if task is None:
            raise NotFound(f"No task {task_id!r}; list a team's tasks with GET /tasks?team_id=.")
        return task
