"""Petitions (诉求): what residents raise, and how each one moves to closure.

A petition's stage only moves forward. The events that move it arrive on
separate queues and may be handled out of order (a claim before the dispatch
it follows), so each event raises the stage to at least the one it proves and
adds its line to the timeline; the timeline is read in event-time order.
"""

import uuid

from shared.catalogue import CATALOGUE
from shared.domain import Change
from shared.errors import InvalidFields
from shared.events import new_event

CATEGORIES = (
    "drains", "street_lighting", "sanitation", "neighbour_dispute", "safety_hazard",
    "fire_hazard", "legal_question", "elderly_care", "left_behind_children",
    "unemployment", "migrant_services", "other",
)
CHANNELS = ("kiosk", "online_platform", "hotline", "grid_patrol", "building_head", "wechat_group")
STAGES = ("raised", "dispatched", "task_opened", "claimed", "completed", "closed")


def new_petition_id():
    return f"P-{uuid.uuid4().hex[:12]}"


def raise_petition(petition_id, request, grid, correlation_id):
    """A resident's petition in a known grid; returns the document and its events."""
    if grid is None:
        raise InvalidFields(
            "The petition names a grid this platform does not know.",
            fields={"grid_id": [f"Unknown grid {request['grid_id']!r}; "
                                "choose one listed by GET /grids."]})
    event = new_event(CATALOGUE, "petition.raised.v1", "petition", petition_id, {
        "petition_id": petition_id,
        "grid_id": request["grid_id"],
        "category": request["category"],
        "description": request["description"],
        "location": request["location"],
        "channel": request["channel"],
    }, correlation_id)
    petition = {
        "_id": petition_id,
        **request,
        "community_id": grid["community_id"],
        "stage": "raised",
        "raised_at": event["time"],
        "closed_at": None,
        "timeline": [timeline_entry(event["type"], event["source"], event["id"], event["time"],
                                    f"Raised through {request['channel']} in grid {grid['name']}")],
    }
    return petition, [event]


def follow(event, petition):
    """Record what another service did with the petition."""
    stage, summary = PROGRESS[event.type](event.data)
    entry = timeline_entry(event.type, event.source, event.id, event.time.isoformat(), summary)
    change = Change(push={"timeline": [entry]})
    if STAGES.index(stage) > STAGES.index(petition["stage"]):
        change.set["stage"] = stage
        if stage == "closed":
            change.set["closed_at"] = event.time.isoformat()
    return change


def _completed(data):
    # Work nobody pays for closes on completion; paid work closes when settled.
    stage = "completed" if data["funding"] else "closed"
    return stage, (f"Completed by {data['volunteer_id']}: {data['hours']} h, "
                   f"cost {format_fen(data['cost_fen'])}")


PROGRESS = {
    "petition.dispatched.v1": lambda d: (
        "dispatched", f"Dispatched to {d['handler']['name']}; acknowledge by "
                      f"{d['acknowledge_by']}, finish by {d['due_by']}"),
    "task.opened.v1": lambda d: ("task_opened", f"Task {d['task_id']} opened for team {d['team_id']}"),
    "task.claimed.v1": lambda d: ("claimed", f"Claimed by {d['volunteer_id']}"),
    "task.completed.v1": _completed,
    "funds.settled.v1": lambda d: (
        "closed", f"{format_fen(d['amount_fen'])} moved from {d['department_id']} "
                  f"({d['budget_line']}) to {d['centre_id']}"),
}


def timeline_entry(type, service, event_id, at, summary):
    return {"at": at, "type": type, "service": service, "event_id": event_id, "summary": summary}


def timeline(petition):
    return sorted(petition["timeline"], key=lambda entry: entry["at"])


def format_fen(fen):
    return f"¥{fen // 100}.{fen % 100:02d}"
