"""Volunteer and butler teams, and the tasks they claim and complete.

A dispatch opens one task for the team it names. Any member of that team may
claim an open task; only the claimer may complete it, recording the hours
spent and the cost. Concurrent claims are decided by the task document's
optimistic lock: the second claimer re-reads the task and is told who won.
"""

from shared.catalogue import CATALOGUE
from shared.domain import Change
from shared.errors import Conflict, Forbidden, InvalidFields
from shared.events import new_event


def task_id_for(petition_id, round):
    """One task per dispatch round: a returned or reopened petition gets a new one."""
    return f"T-{petition_id}-{round}"


def register_team(team_id, team, correlation_id, current):
    """A new or changed team is announced, so the dispatcher knows its skills;
    re-registering the same team changes nothing."""
    if current is not None and all(current.get(k) == v for k, v in team.items()):
        return None
    event = new_event(CATALOGUE, "team.registered.v1", "volunteer", team_id, {
        "team_id": team_id, "name": team["name"], "kind": team["kind"], "skills": team["skills"],
    }, correlation_id)
    return Change(set=dict(team), events=[event])


def takes_tasks(handler):
    """A functional department handles its orders itself; teams work through tasks."""
    return handler["kind"] != "department"


def open_task(dispatch, cause):
    """The task a dispatch opens for its team; returns the task and its event."""
    task_id = task_id_for(dispatch["petition_id"], dispatch["round"])
    event = new_event(CATALOGUE, "task.opened.v1", "volunteer", task_id, {
        "task_id": task_id, "petition_id": dispatch["petition_id"], "round": dispatch["round"],
        "team_id": dispatch["handler"]["team_id"],
    }, cause.correlationid, cause)
    task = {
        "_id": task_id,
        "petition_id": dispatch["petition_id"],
        "round": dispatch["round"],
        "team_id": dispatch["handler"]["team_id"],
        "role": dispatch["handler"].get("role"),
        "category": dispatch["category"],
        "grid_id": dispatch["grid_id"],
        "funding": dispatch["funding"],
        "due_by": dispatch["due_by"].isoformat(),
        "status": "open",
        "opened_at": event["time"],
        "claimed_by": None,
    }
    return task, event


def claim(volunteer_id, team, correlation_id, task):
    if team is None or volunteer_id not in {m["id"] for m in team["members"]}:
        raise Forbidden(f"Volunteer {volunteer_id!r} is not a member of team {task['team_id']!r}; "
                        "only its members may claim its tasks.")
    if task["status"] != "open":
        raise Conflict(f"Task {task['_id']} is already {task['status']} by {task['claimed_by']}; "
                       "choose another open task.")
    event = new_event(CATALOGUE, "task.claimed.v1", "volunteer", task["_id"], {
        "task_id": task["_id"], "petition_id": task["petition_id"], "round": task["round"],
        "team_id": task["team_id"],
        "volunteer_id": volunteer_id,
    }, correlation_id)
    return Change(set={"status": "claimed", "claimed_by": volunteer_id,
                       "claimed_at": event["time"]}, events=[event])


def complete(report, correlation_id, task):
    if task["status"] != "claimed":
        raise Conflict(f"Task {task['_id']} is {task['status']}; claim it before completing it.")
    if task["claimed_by"] != report["volunteer_id"]:
        raise Forbidden(f"Task {task['_id']} was claimed by {task['claimed_by']}; "
                        "only the claimer may complete it.")
    if report["cost_fen"] and not task["funding"]:
        raise InvalidFields("This task has no funding department, so it cannot carry a cost.",
                            fields={"cost_fen": ["Give 0 for work nobody pays for."]})
    event = new_event(CATALOGUE, "task.completed.v1", "volunteer", task["_id"], {
        "task_id": task["_id"], "petition_id": task["petition_id"], "round": task["round"],
        "team_id": task["team_id"],
        "volunteer_id": report["volunteer_id"], "hours": report["hours"],
        "cost_fen": report["cost_fen"], "funding": task["funding"],
    }, correlation_id)
    return Change(set={"status": "completed", "completed_at": event["time"],
                       "hours": report["hours"], "cost_fen": report["cost_fen"],
                       "notes": report["notes"]}, events=[event])
