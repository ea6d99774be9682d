"""Tasks: the work a dispatch gives a team, claimed fairly and verified before it counts.

A dispatch to a volunteer team or a butler team opens one task with a number of
places. Only eligible volunteers see and may claim it: members of the team (of
the role, for a butler role), with the skill the rule asked for, holding a valid
qualification where the skill needs one, serving the task's grid, and with fewer
than ``max_open_tasks`` claims already open. The task document's optimistic lock
decides concurrent claims: two volunteers after the last place never both win.

A claim may be released; a claim with no progress within ``progress_hours`` is
released by the sweep and the team leader is told. A claimant reports the work
done with hours, cost and evidence; it then counts only once the grid leader
verifies it, or the resident confirms it through the petition. A declined
verification says why and sends the work back to the claimants::

    open ─claim─▶ claimed ─submit─▶ submitted ─verify─▶ completed
     ▲  ◀─release/lapse─┘  ▲            │
     │                     └──declined──┘         any ─(returned, reopened, rejected)─▶ cancelled
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from shared.catalogue import CATALOGUE
from shared.domain import Change, settings_from_config
from shared.errors import Conflict, Forbidden, InvalidFields
from shared.events import new_event
from shared.lifecycle import Lifecycle

# Skills whose work needs a qualification that has not expired.
QUALIFICATION_FOR_SKILL = {"electrics": "electrician", "care": "first_aid",
                           "fire_safety": "fire_safety"}

LIFECYCLE = Lifecycle("task", {
    "claim": ({"open"}, None),
    "release": ({"open", "claimed"}, None),
    "report_progress": ({"claimed"}, None),
    "submit": ({"claimed"}, "submitted"),
    "verify": ({"submitted"}, None),
    "cancel": ({"open", "claimed", "submitted"}, "cancelled"),
})


@dataclass(frozen=True)
class TaskPolicy:
    max_open_tasks: int = 3
    progress_hours: float = 24.0

    @classmethod
    def from_config(cls, config):
        return settings_from_config(cls, config, "VOLUNTEER")


def task_id_for(petition_id, round):
    """One task per dispatch round: a returned or reopened petition gets a new one."""
    return f"T-{petition_id}-{round}"


def takes_tasks(handler):
    """A functional department handles its orders itself; teams work through tasks."""
    return handler["kind"] != "department"


def open_task(dispatch, team, butler_team, cause):
    """The task a dispatch opens for its team; returns the task and its event. The team
    leader is told of lapsed claims; the grid's leader verifies the work."""
    task_id = task_id_for(dispatch["petition_id"], dispatch["round"])
    handler = dispatch["handler"]
    event = new_event(CATALOGUE, "task.opened.v1", "volunteer", task_id, {
        "task_id": task_id, "petition_id": dispatch["petition_id"], "round": dispatch["round"],
        "team_id": handler["team_id"],
    }, cause.correlationid, cause)
    task = {
        "_id": task_id,
        "petition_id": dispatch["petition_id"],
        "round": dispatch["round"],
        "team_id": handler["team_id"],
        "role": handler.get("role"),
        "skill": handler.get("skill"),
        "qualification": QUALIFICATION_FOR_SKILL.get(handler.get("skill")),
        "category": dispatch["category"],
        "grid_id": dispatch["grid_id"],
        "community_id": dispatch["community_id"],
        "team_leader_id": (team or {}).get("leader_id"),
        "grid_leader_ids": (butler_team or {}).get("roles", {}).get("grid_leader", []),
        "funding": dispatch["funding"],
        "due_by": dispatch["due_by"].isoformat(),
        "places": dispatch["places"],
        "urgent": dispatch["urgent"],
        "status": "open",
        "opened_at": event["time"],
        "claims": [],
        "notices": [],
        "verifications": [],
    }
    return task, event


def active_claims(task):
    return [c for c in task["claims"] if c["state"] == "active"]


def why_not_eligible(volunteer, team, task, today):
    """Why this volunteer may not take this task, or None if they may."""
    if team is None or volunteer["_id"] not in team["members"]:
        return f"{volunteer['_id']} is not a member of team {task['team_id']}"
    if task["role"] and volunteer["_id"] not in team.get("roles", {}).get(task["role"], []):
        return f"the task is for the team's {task['role'].replace('_', ' ')}"
    if task["skill"] and task["skill"] not in volunteer["skills"]:
        return f"the task needs the skill {task['skill']}"
    if task["qualification"] and not has_valid(volunteer, task["qualification"], today):
        return f"the task needs a valid {task['qualification']} qualification"
    grids = volunteer["grids"]
    if "*" not in grids and task["grid_id"] not in grids:
        return f"{volunteer['_id']} does not serve grid {task['grid_id']}"
    return None


def has_valid(volunteer, kind, today):
    return any(q["kind"] == kind and date.fromisoformat(q["valid_until"]) >= today
               for q in volunteer["qualifications"])


def claim(volunteer, team, now, policy, correlation_id, task):
    """Take one place on the task; the optimistic lock makes the last place go to one claimant."""
    LIFECYCLE.target("claim", task["status"])
    why_not = why_not_eligible(volunteer, team, task, now.date())
    if why_not:
        raise Forbidden(f"{volunteer['_id']} may not claim task {task['_id']}: {why_not}. "
                        "Choose a task from GET /tasks?volunteer_id=.")
    if any(c["volunteer_id"] == volunteer["_id"] for c in active_claims(task)):
        raise Conflict(f"{volunteer['_id']} already holds a place on task {task['_id']}.")
    taken = len(active_claims(task))
    if taken >= task["places"]:
        raise Conflict(f"Task {task['_id']} has no place left; choose another open task.")
    record = {"volunteer_id": volunteer["_id"], "at": now.isoformat(), "state": "active",
              "progress_by": (now + timedelta(hours=policy.progress_hours)).isoformat(),
              "notes": []}
    full = taken + 1 == task["places"]
    event = _event("task.claimed.v1", task, correlation_id, volunteer["_id"])
    return Change(set={"status": "claimed" if full else "open",
                       "claimed_at": task.get("claimed_at") or now.isoformat()},
                  push={"claims": [record]}, events=[event])


def release(volunteer_id, reason, now, correlation_id, task, lapsed=False):
    """Give a place back; it is open again for another volunteer."""
    LIFECYCLE.target("release", task["status"])
    claims = task["claims"]
    if not any(c["volunteer_id"] == volunteer_id and c["state"] == "active" for c in claims):
        raise Conflict(f"{volunteer_id} holds no place on task {task['_id']} to release.")
    state = "lapsed" if lapsed else "released"
    claims = [{**c, "state": state, "ended_at": now.isoformat(), "reason": reason}
              if c["volunteer_id"] == volunteer_id and c["state"] == "active" else c
              for c in claims]
    data = {"volunteer_id": volunteer_id, "reason": reason,
            "team_leader_id": task.get("team_leader_id")}
    event = new_event(CATALOGUE, "task.released.v1", "volunteer", task["_id"],
                      {**_base(task), **data}, correlation_id)
    change = Change(set={"claims": claims, "status": "open"}, events=[event])
    if lapsed:
        change.push["notices"] = [{"to": task.get("team_leader_id"), "at": now.isoformat(),
                                   "text": f"{volunteer_id}'s claim on {task['_id']} lapsed: "
                                           f"no progress by the time limit. It is open again."}]
    return change


def report_progress(volunteer_id, note, now, policy, correlation_id, task):
    LIFECYCLE.target("report_progress", task["status"])
    claims = _of_claimant(task, volunteer_id, "report progress on")
    progress_by = (now + timedelta(hours=policy.progress_hours)).isoformat()
    claims = [{**c, "progress_by": progress_by, "notes": c["notes"] + [
        {"at": now.isoformat(), "text": note}]} if c["volunteer_id"] == volunteer_id
        and c["state"] == "active" else c for c in claims]
    event = _event("task.progressed.v1", task, correlation_id, volunteer_id, note)
    return Change(set={"claims": claims}, events=[event])


def lapse_stalled(now, correlation_id, task):
    """The sweep: release every claim with no progress by its time limit."""
    stalled = [c["volunteer_id"] for c in active_claims(task)
               if datetime.fromisoformat(c["progress_by"]) <= now]
    if task["status"] not in ("open", "claimed") or not stalled:
        return None
    change = Change()
    for volunteer_id in stalled:
        step = release(volunteer_id, "no progress within the time limit", now, correlation_id,
                       {**task, **change.set}, lapsed=True)
        change.set.update(step.set)
        change.events += step.events
        change.push.setdefault("notices", []).extend(step.push["notices"])
    return change


def submit(report, now, correlation_id, task):
    """A claimant reports the work done; it counts once verified."""
    LIFECYCLE.target("submit", task["status"])
    _of_claimant(task, report["volunteer_id"], "report the work on")
    if report["cost_fen"] and not task["funding"]:
        raise InvalidFields("This task has no funding department, so it cannot carry a cost.",
                            fields={"cost_fen": ["Give 0 for work nobody pays for."]})
    event = _event("task.submitted.v1", task, correlation_id, report["volunteer_id"],
                   report.get("notes") or None)
    return Change(set={"status": "submitted", "submitted_at": now.isoformat(),
                       "report": {**report, "at": now.isoformat()}}, events=[event])


def verify(verdict, now, correlation_id, task):
    """The grid leader's verdict, or the resident's confirmation (``verifier`` "resident")."""
    LIFECYCLE.target("verify", task["status"])
    verifier = verdict["verifier_id"]
    if verifier != "resident" and verifier not in task["grid_leader_ids"]:
        raise Forbidden(f"{verifier} is not the grid leader of {task['grid_id']}; the grid "
                        "leader verifies, or the resident confirms through the petition.")
    record = {**verdict, "at": now.isoformat()}
    if not verdict["approved"]:
        if not verdict.get("reason"):
            raise InvalidFields("Say why the work is not accepted.",
                                fields={"reason": ["Give the reason, so the claimants can put "
                                                   "it right."]})
        event = _event("task.verification_declined.v1", task, correlation_id, None,
                       verdict["reason"])
        return Change(set={"status": "claimed"}, push={"verifications": [record]},
                      events=[event])
    report, claimants = task["report"], active_claims(task)
    event = new_event(CATALOGUE, "task.completed.v1", "volunteer", task["_id"], {
        **_base(task), "volunteer_id": report["volunteer_id"],
        "hours": report["hours"] * len(claimants), "cost_fen": report["cost_fen"],
        "funding": task["funding"], "verified_by": verifier,
    }, correlation_id)
    return Change(set={"status": "completed", "completed_at": now.isoformat(),
                       "hours_each": report["hours"],
                       "claimant_ids": [c["volunteer_id"] for c in claimants]},
                  push={"verifications": [record]}, events=[event])


def cancel(reason, now, correlation_id, task):
    """The petition went back to the dispatcher or was rejected: this round's task ends."""
    if task["status"] not in LIFECYCLE.transitions["cancel"].sources:
        return None
    claims = [{**c, "state": "cancelled", "ended_at": now.isoformat()} if c["state"] == "active"
              else c for c in task["claims"]]
    event = _event("task.cancelled.v1", task, correlation_id, None, reason)
    return Change(set={"status": "cancelled", "claims": claims, "cancelled_at": now.isoformat()},
                  events=[event])


def _of_claimant(task, volunteer_id, what):
    if not any(c["volunteer_id"] == volunteer_id for c in active_claims(task)):
        raise Forbidden(f"Only a volunteer holding a place may {what} task {task['_id']}; "
                        f"{volunteer_id} does not.")
    return task["claims"]


def _base(task):
    return {"task_id": task["_id"], "petition_id": task["petition_id"], "round": task["round"],
            "team_id": task["team_id"]}


def _event(type, task, correlation_id, volunteer_id=None, reason=None):
    return new_event(CATALOGUE, type, "volunteer", task["_id"], {
        **_base(task), "volunteer_id": volunteer_id, "reason": reason}, correlation_id)


def mark_funding(blocked, task):
    if task.get("funding_blocked", False) == blocked:
        return None
    return Change(set={"funding_blocked": blocked})
