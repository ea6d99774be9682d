"""Petitions (诉求): what residents raise, and the lifecycle that takes each to closure.

The states are those of 12345 hotline practice::

    raised ─accept─▶ accepted ─(dispatcher)─▶ dispatched ─acknowledge─▶ acknowledged
      │                 │                        │  ▲                     │
      ├─reject─▶ rejected                        │  └──(dispatcher)─ returned ◀─return─┤
      └─merge──▶ merged ─(its primary closes)─▶ closed                                 │
                                                 in_progress ◀─report_progress─────────┘
    in_progress ─resolve─▶ resolved ─follow_up─▶ verified ─close─▶ closed
                              │  └─(no answer in the window)─────▶ closed (no_response)
                              └─follow_up (poor, handler's cause)─▶ reopened ─(dispatcher)─▶ dispatched

Acceptance (受理) is automatic unless the petition looks like a duplicate of an
open one nearby, or the deployment asks staff to accept every petition.
Escalation (督办) is not a state: an overdue or escalated petition keeps its
place in the work and carries its supervision level.

Every dispatch is a numbered *round*: a return (退单) or a reopening asks the
dispatcher for the next one. Other services' events for the petition arrive on
separate queues, in any order (a claim before the dispatch it follows), so an
event of the current round moves the petition forward to the state it proves
and never back; an event of an earlier round only adds its line to the timeline.
"""

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.catalogue import CATALOGUE
from shared.domain import Change, settings_from_config
from shared.errors import Conflict, InvalidFields
from shared.events import new_event
from shared.lifecycle import Lifecycle

CHANNELS = ("kiosk", "online_platform", "hotline", "grid_patrol", "building_head", "wechat_group")

# Before dispatch, then the work of one round in the order it progresses.
WAITING = ("accepted", "returned", "reopened")
WORK = ("dispatched", "acknowledged", "in_progress", "resolved")
FINAL = ("closed", "rejected")
STATES = ("raised", *WAITING, *WORK, "verified", "merged", *FINAL)

LIFECYCLE = Lifecycle("petition", {
    "accept": ({"raised"}, "accepted"),
    "reject": ({"raised", "accepted", "returned"}, "rejected"),
    "merge": ({"raised", "accepted"}, "merged"),
    "acknowledge": ({"dispatched"}, "acknowledged"),
    "report_progress": ({"acknowledged", "in_progress"}, "in_progress"),
    "resolve": ({"acknowledged", "in_progress"}, "resolved"),
    "return": ({"dispatched", "acknowledged", "in_progress"}, "returned"),
    "escalate": ({*WAITING, "dispatched", "acknowledged", "in_progress"}, None),
    "confirm_work": ({"acknowledged", "in_progress"}, None),
    "follow_up": ({"resolved"}, None),
    "close": ({"verified"}, "closed"),
})

SATISFIED_FROM = 3  # 1-2 not satisfied, 3 basically satisfied, 4-5 satisfied
# Grid staff handle the matter and dispatchers make the follow-up calls: they see the
# reporter's contact; the auditor and the administrator see it masked.
CONTACT_ROLES = frozenset({"grid_staff", "dispatcher"})
SYSTEM = "system"


@dataclass(frozen=True)
class Policy:
    """What a deployment decides about intake and follow-up."""

    auto_accept: bool = True
    duplicate_radius_m: float = 50.0
    duplicate_window_hours: float = 72.0
    follow_up_hours: float = 72.0  # unrated resolutions close as "no response" after this
    archive_hours: float = 24.0  # verified petitions are archived (closed) after this
    # A closed petition's reporter contact is removed after this; its figures stay.
    contact_retention_days: float = 365.0

    @classmethod
    def from_config(cls, config):
        """``PETITION_AUTO_ACCEPT``, ``PETITION_DUPLICATE_RADIUS_M`` and so on."""
        return settings_from_config(cls, config, "PETITION")


def new_petition_id():
    return f"P-{uuid.uuid4().hex[:12]}"


def raise_petition(petition_id, request, grid, duplicates, policy, now, correlation_id):
    """A resident's petition in a grid; accepted at once unless it needs a person's eye.

    ``duplicates`` are the open petitions of the same category in the grid
    within the configured distance and time window (see ``likely_duplicates``).
    """
    duplicate_ids = [d["id"] for d in duplicates]
    raised = new_event(CATALOGUE, "petition.raised.v1", "petition", petition_id, {
        "petition_id": petition_id, "grid_id": grid["_id"], "community_id": grid["community_id"],
        "category": request["category"], "description": request["description"],
        "location": request["location"], "channel": request["channel"],
        "attributes": request["attributes"], "attachments": request["attachments"],
        "duplicate_candidates": duplicate_ids, "proposal_id": request.get("proposal_id"),
    }, correlation_id)
    summary = f"Raised through {request['channel']} in grid {grid['name']}"
    if duplicates:
        summary += f"; possible duplicate of {', '.join(duplicate_ids)}: staff will accept or merge it"
    petition = {
        "_id": petition_id,
        **request,
        "grid_id": grid["_id"],
        "community_id": grid["community_id"],
        "state": "raised",
        "round": 0,
        "duplicate_candidates": duplicates,
        "merged_petitions": [],
        "ratings": [],
        "escalation_level": 0,
        "raised_at": now.isoformat(),
        "updated_at": now.isoformat(),
        "timeline": [entry(raised, request["channel"], summary)],
    }
    events = [raised]
    if policy.auto_accept and not duplicates:
        change = accept(SYSTEM, None, now, correlation_id, petition)
        petition.update(change.set)
        petition["timeline"] += change.push["timeline"]
        events += change.events
    return petition, events


def likely_duplicates(location, open_nearby, policy):
    """The open petitions within the duplicate radius, nearest first."""
    found = []
    for other in open_nearby:
        distance = distance_m(location, other["location"])
        if distance <= policy.duplicate_radius_m:
            found.append({"id": other["_id"], "distance_m": round(distance, 1),
                          "raised_at": other["raised_at"]})
    return sorted(found, key=lambda d: d["distance_m"])


def distance_m(a, b):
    """Great-circle distance in metres (haversine; plenty for tens of metres)."""
    lat1, lat2 = math.radians(a["lat"]), math.radians(b["lat"])
    dlat, dlng = lat2 - lat1, math.radians(b["lng"] - a["lng"])
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlng / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


# Commands: each takes its inputs, then the petition (so it can be partially applied
# and handed to the store's get-act-save loop), and returns a Change.

def accept(actor, reason, now, correlation_id, petition):
    LIFECYCLE.target("accept", petition["state"])
    return _send_to_dispatch("petition.accepted.v1", "accepted", actor, reason, now,
                             correlation_id, petition,
                             f"Accepted for handling (受理) by {actor}")


def reject(actor, reason, now, correlation_id, petition):
    LIFECYCLE.target("reject", petition["state"])
    return _step(petition, "rejected", "petition.rejected.v1",
                 {"actor": actor, "reason": reason}, now, correlation_id,
                 f"Rejected by {actor}: {reason}", outcome="rejected", closed_at=now.isoformat())


def merge(primary, actor, reason, now, correlation_id, petition):
    LIFECYCLE.target("merge", petition["state"])
    if primary is None:
        raise InvalidFields("There is no petition to merge into.", fields={
            "into": ["Give the id of an open petition, e.g. one of the duplicate candidates."]})
    if primary["_id"] == petition["_id"]:
        raise InvalidFields("A petition cannot be merged into itself.",
                            fields={"into": ["Give the id of another petition."]})
    if primary["state"] in ("merged", *FINAL):
        raise Conflict(f"{primary['_id']} is {primary['state']}; merge into a petition that "
                       "is still open" + (f", such as {primary['merged_into']}."
                                          if primary.get("merged_into") else "."))
    return _step(petition, "merged", "petition.merged.v1",
                 {"actor": actor, "reason": reason, "into": primary["_id"]}, now,
                 correlation_id, f"Merged by {actor} into {primary['_id']}: {reason}",
                 merged_into=primary["_id"])


def acknowledge(actor, now, correlation_id, petition):
    LIFECYCLE.target("acknowledge", petition["state"])
    return _round_step(petition, "acknowledged", "petition.acknowledged.v1", actor, None, now,
                       correlation_id, f"Acknowledged (签收) by {actor}", acknowledged_at=now.isoformat())


def report_progress(actor, note, now, correlation_id, petition):
    LIFECYCLE.target("report_progress", petition["state"])
    return _round_step(petition, "in_progress", "petition.progressed.v1", actor, note, now,
                       correlation_id, f"Progress from {actor}: {note}")


def resolve(actor, summary, now, correlation_id, petition):
    LIFECYCLE.target("resolve", petition["state"])
    return _resolved(actor, summary, now, correlation_id, petition)


def return_to_dispatcher(actor, reason, return_reason, now, correlation_id, petition):
    """The handler says the matter is not theirs (退单): the dispatcher must send it elsewhere.
    An order the dispatch centre has ruled on cannot be returned: that is what stops
    orders circling between units."""
    LIFECYCLE.target("return", petition["state"])
    if petition.get("dispatch_final"):
        raise Conflict("The dispatch centre ruled who handles this order, and its ruling is "
                       "final: it cannot be returned. Handle it, or ask the dispatch centre "
                       "to reconsider.")
    change = _send_to_dispatch("petition.returned.v1", "returned", actor, reason, now,
                               correlation_id, petition,
                               f"Returned (退单, {return_reason.replace('_', ' ')}) by {actor}: "
                               f"{reason}", return_reason=return_reason)
    return change


def escalate(actor, reason, now, correlation_id, petition):
    """Staff put the petition under supervision (督办), one level higher than before."""
    LIFECYCLE.target("escalate", petition["state"])
    level = petition["escalation_level"] + 1
    event = new_event(CATALOGUE, "petition.escalated.v1", "petition", petition["_id"], {
        "petition_id": petition["_id"], "actor": actor, "reason": reason, "level": level,
    }, correlation_id)
    change = Change(set={"escalation_level": level, "updated_at": now.isoformat()},
                    push={"timeline": [entry(event, actor,
                                             f"Escalated (督办) to level {level} by {actor}: {reason}")]},
                    events=[event])
    return change


def confirm_work(actor, now, correlation_id, petition):
    """The resident confirms the handler's work was done: it counts as verified."""
    LIFECYCLE.target("confirm_work", petition["state"])
    event = _round_event("petition.work_confirmed.v1", petition, actor, None, correlation_id)
    return Change(set={"updated_at": now.isoformat()},
                  push={"timeline": [entry(event, actor, f"{actor} confirmed the work was done")]},
                  events=[event])


def follow_up(rating, actor, now, correlation_id, petition):
    """The follow-up (回访): the resident's rating verifies the resolution, or reopens it
    when they are not satisfied for a cause the handler owns."""
    LIFECYCLE.target("follow_up", petition["state"])
    score = rating["rating"]
    record = {**rating, "satisfied": score >= SATISFIED_FROM, "at": now.isoformat(), "actor": actor}
    comment = f": {rating['comment']}" if rating.get("comment") else ""
    if not record["satisfied"] and rating["cause"] == "handler":
        change = _send_to_dispatch("petition.reopened.v1", "reopened", actor,
                                   rating.get("comment"), now, correlation_id, petition,
                                   f"Reopened: rated {score}/5 by {rating['by']}{comment}")
        change.push["ratings"] = [record]
        return change
    change = _step(petition, "verified", "petition.verified.v1",
                   {"actor": actor, "reason": rating.get("comment"), "rating": score,
                    "satisfied": record["satisfied"]}, now, correlation_id,
                   f"Verified by follow-up (回访): rated {score}/5 by {rating['by']}{comment}",
                   verified_at=now.isoformat())
    change.push["ratings"] = [record]
    return change


def close(actor, reason, now, correlation_id, petition):
    LIFECYCLE.target("close", petition["state"])
    satisfied = petition["ratings"][-1]["satisfied"]
    return _closed(petition, "satisfied" if satisfied else "not_satisfied", actor, reason, now,
                   correlation_id, f"Closed by {actor}" + (f": {reason}" if reason else ""))


def close_with_primary(primary, now, correlation_id, petition):
    """A merged petition closes with the one it was merged into: its reporter learns the outcome."""
    if petition["state"] != "merged":
        return None
    outcome = primary.get("outcome") or "rejected"
    return _closed(petition, outcome, SYSTEM, f"merged into {primary['_id']}", now, correlation_id,
                   f"Closed with {primary['_id']}, into which it was merged: {outcome}")


def absorb(duplicate_id, petition):
    """The primary keeps the list of petitions merged into it."""
    if duplicate_id in petition["merged_petitions"]:
        return None
    return Change(push={"merged_petitions": [duplicate_id]})


def sweep(now, policy, correlation_id, petition):
    """What the passing of time does here: close unanswered follow-ups and archive
    verified petitions (the dispatcher keeps the handling clocks). None when nothing is due."""
    state = petition["state"]
    if state == "resolved" and _passed(petition["resolved_at"], policy.follow_up_hours, now):
        return _closed(petition, "no_response", SYSTEM, "no rating within the follow-up window",
                       now, correlation_id, "Closed: the resident did not answer the follow-up "
                       f"within {policy.follow_up_hours:g} h")
    if state == "verified" and _passed(petition["verified_at"], policy.archive_hours, now):
        return close(SYSTEM, "archived after verification", now, correlation_id, petition)
    return None


# Following what other services did with the petition.

def follow(event, petition):
    """Record another service's step; move forward if it proves the current round went further."""
    data = event.data
    stale = data.get("round", petition["round"]) != petition["round"]
    summary = SUMMARIES[event.type](data) + (" (an earlier round; superseded)" if stale else "")
    line = entry({"time": event.time.isoformat(), "type": event.type, "id": event.id},
                 event.source, summary)
    change = Change(push={"timeline": [line]})
    if stale:
        return change
    if event.type == "petition.dispatched.v1":
        change.set.update(handler=data["handler"], funding=data["funding"],
                          acknowledge_by=data["acknowledge_by"].isoformat(),
                          finish_by=data["due_by"].isoformat(), dispatched_at=event.time.isoformat(),
                          dispatch_final=data["final"])
    if event.type == "dispatch.escalated.v1" and data["level"] > petition["escalation_level"]:
        change.set["escalation_level"] = data["level"]
    if event.type == "dispatch.extension_decided.v1":
        change.set["finish_by"] = data["due_by"].isoformat()
    if event.type == "funds.blocked.v1" and petition["state"] not in FINAL:
        change.set["escalation_level"] = petition["escalation_level"] + 1
    proves = PROVES.get(event.type)
    if proves and petition["state"] in (*WAITING, *WORK) and _rank(proves) > _rank(petition["state"]):
        now = event.time
        change.set.update(state=proves, updated_at=now.isoformat())
        actor = data.get("volunteer_id", event.source)
        if proves == "acknowledged":
            change.set["acknowledged_at"] = now.isoformat()
            change.events.append(_round_event("petition.acknowledged.v1", petition, actor, None,
                                              event.correlationid))
        if proves == "in_progress":
            change.events.append(_round_event("petition.progressed.v1", petition, actor,
                                              data.get("reason"), event.correlationid))
        if proves == "resolved":
            resolved = _resolved(actor, f"task {data['task_id']} completed", now,
                                 event.correlationid, petition)
            change.set.update(resolved.set)
            change.events += resolved.events
    return change


def reopen_after_spot_check(event, petition):
    """A spot check (抽查) overturned the outcome: a closed petition goes back to dispatch as a
    new round, with the checker's note as the reason, as after a poor follow-up. Only a closed
    petition reopens; one already open again just notes the finding."""
    data = event.data
    said = f"Spot check {data['spot_check_id']} by {data['actor']} overturned the outcome"
    if petition["state"] != "closed":
        line = entry({"time": event.time.isoformat(), "type": event.type, "id": event.id},
                     data["actor"], f"{said} ({petition['state']}, so not reopened): "
                                    f"{data['reason']}")
        return Change(push={"timeline": [line]})
    change = _send_to_dispatch("petition.reopened.v1", "reopened", data["actor"], data["reason"],
                               event.time, event.correlationid, petition,
                               f"Reopened: {said}: {data['reason']}")
    change.set.update(outcome=None, closed_at=None)
    return change


PROVES = {
    "petition.dispatched.v1": "dispatched",
    "task.claimed.v1": "acknowledged",
    "task.progressed.v1": "in_progress",
    "task.completed.v1": "resolved",
}

SUMMARIES = {
    "petition.dispatched.v1": lambda d: (
        f"{'Dispatched' if d['round'] == 1 else 'Re-dispatched'} (派单) to {d['handler']['name']}; "
        f"acknowledge by {d['acknowledge_by'].isoformat()}, finish by {d['due_by'].isoformat()}"),
    "task.opened.v1": lambda d: f"Task {d['task_id']} opened for team {d['team_id']}",
    "task.claimed.v1": lambda d: f"Claimed by {d['volunteer_id']} of team {d['team_id']}",
    "task.released.v1": lambda d: f"{d['volunteer_id']} gave up their place: {d['reason']}",
    "task.progressed.v1": lambda d: f"Progress from {d['volunteer_id']}: {d['reason']}",
    "task.submitted.v1": lambda d: (
        f"{d['volunteer_id']} reported the work done; it awaits the grid leader's "
        "verification or your confirmation"),
    "task.verification_declined.v1": lambda d: f"The grid leader sent the work back: {d['reason']}",
    "task.cancelled.v1": lambda d: f"Task {d['task_id']} withdrawn: {d['reason']}",
    "task.completed.v1": lambda d: (f"Completed and verified by {d['verified_by']}: "
                                    f"{d['hours']:g} h, cost {format_fen(d['cost_fen'])}"),
    "dispatch.reminded.v1": lambda d: (
        f"Reminded (催办): not {_CLOCK_DONE[d['clock']]} by {d['deadline'].isoformat()}"),
    "dispatch.escalated.v1": lambda d: (
        f"Escalated (督办) to {d['to_place']}, level {d['level']}: not "
        f"{_CLOCK_DONE[d['clock']]} by {d['deadline'].isoformat()}"),
    "dispatch.extension_requested.v1": lambda d: (
        f"{d['actor']} asked for {d['working_days']:g} more working days: {d['reason']}; "
        "the finish clock is paused"),
    "dispatch.extension_decided.v1": lambda d: (
        f"Extension {'granted' if d['approved'] else 'refused'} by {d['actor']}; "
        f"finish by {d['due_by'].isoformat()}"),
    "dispatch.arbitration_requested.v1": lambda d: (
        f"Returned {d['returns']} times: awaiting the dispatch centre's ruling"),
    "funds.held.v1": lambda d: (
        f"{format_fen(d['amount_fen'])} held on {d['department_id']}'s {d['budget_line']} line"),
    "funds.released.v1": lambda d: (
        f"{format_fen(d['amount_fen'])} hold released to {d['department_id']}: {d['reason']}"),
    "funds.blocked.v1": lambda d: (
        f"Funding blocked (督办): {d['department_id']}'s {d['budget_line']} line cannot cover "
        f"{format_fen(d['amount_fen'])}; the department is told"),
    "funds.approval_requested.v1": lambda d: (
        f"The cost {format_fen(d['amount_fen'])} awaits the department's approval: {d['reason']}"),
    "funds.settled.v1": lambda d: (
        f"{format_fen(d['amount_fen'])} moved from {d['department_id']} ({d['budget_line']}) "
        f"to {d['centre_id']} (费随事转)"),
}


_CLOCK_DONE = {"acknowledge": "acknowledged", "finish": "finished"}


def _rank(state):
    return WORK.index(state) + 1 if state in WORK else 0


def _passed(since, hours, now):
    return datetime.fromisoformat(since) + timedelta(hours=hours) <= now


def _step(petition, state, type, data, now, correlation_id, summary, **fields):
    event = new_event(CATALOGUE, type, "petition", petition["_id"],
                      {"petition_id": petition["_id"], **data}, correlation_id)
    return Change(set={"state": state, "updated_at": now.isoformat(), **fields},
                  push={"timeline": [entry(event, data["actor"], summary)]}, events=[event])


def _round_step(petition, state, type, actor, reason, now, correlation_id, summary, **fields):
    event = _round_event(type, petition, actor, reason, correlation_id)
    return Change(set={"state": state, "updated_at": now.isoformat(), **fields},
                  push={"timeline": [entry(event, actor, summary)]}, events=[event])


def _round_event(type, petition, actor, reason, correlation_id):
    return new_event(CATALOGUE, type, "petition", petition["_id"], {
        "petition_id": petition["_id"], "actor": actor, "reason": reason,
        "round": petition["round"]}, correlation_id)


def _resolved(actor, summary, now, correlation_id, petition):
    return _round_step(petition, "resolved", "petition.resolved.v1", actor, summary, now,
                       correlation_id, f"Resolved by {actor}: {summary}", resolved_at=now.isoformat())


def _send_to_dispatch(type, state, actor, reason, now, correlation_id, petition, summary,
                      **extra):
    """Ask the dispatcher for the next round: on acceptance, a return or a reopening."""
    data = {"petition_id": petition["_id"], "actor": actor, "reason": reason, **extra,
            "grid_id": petition["grid_id"], "community_id": petition["community_id"],
            "category": petition["category"], "location": petition["location"],
            "round": petition["round"] + 1}
    if type != "petition.accepted.v1":
        data["previous_handler"] = petition.get("handler")
    event = new_event(CATALOGUE, type, "petition", petition["_id"], data, correlation_id)
    fields = {"state": state, "round": petition["round"] + 1, "updated_at": now.isoformat()}
    if state == "returned":
        fields["returns"] = petition.get("returns", 0) + 1
    return Change(set=fields, push={"timeline": [entry(event, actor, summary)]}, events=[event])


def _closed(petition, outcome, actor, reason, now, correlation_id, summary):
    return _step(petition, "closed", "petition.closed.v1",
                 {"actor": actor, "reason": reason, "outcome": outcome}, now, correlation_id,
                 summary, outcome=outcome, closed_at=now.isoformat())


def entry(event, actor, summary):
    """The timeline line for an event: when, what, who, and in words."""
    return {"at": event["time"], "type": event["type"], "event_id": event["id"],
            "actor": actor, "summary": summary}


def timeline(petition):
    return sorted(petition["timeline"], key=lambda e: e["at"])


def format_fen(fen):
    return f"¥{fen // 100}.{fen % 100:02d}"


# Privacy: what each audience may see of the reporter.

def mask_name(name):
    return " ".join(word[0] + "*" * (len(word) - 1) for word in name.split()) if name else None


def mask_phone(phone):
    digits = phone.replace(" ", "").replace("-", "") if phone else None
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:] if digits else None


CONTACT = ("name", "phone", "email")


def sealed_reporter(reporter, seal):
    """At rest a reporter's name, phone and email are one sealed (encrypted) value."""
    return {"anonymous": reporter["anonymous"],
            "sealed": seal({key: reporter.get(key) for key in CONTACT})}


def opened_reporter(reporter, open_sealed):
    """The reporter as staff views need it; a removed contact stays removed, and one
    written before sealing began is already open."""
    if "sealed" not in reporter:
        return reporter
    return {"anonymous": reporter["anonymous"], **open_sealed(reporter["sealed"])}


def forgotten_reporter(reporter, now):
    """What the retention rule leaves of a reporter: whether they were anonymous."""
    return {"anonymous": reporter["anonymous"], "removed_at": now.isoformat()}


def reporter_for_public(reporter):
    """Anonymous reporters are not named at all; others by a masked name."""
    return None if reporter["anonymous"] else mask_name(reporter.get("name"))


def reporter_for_staff(reporter, role):
    """Staff see masked contact details unless their role is to contact the resident."""
    if role in CONTACT_ROLES:
        return dict(reporter)
    return {**reporter, "name": mask_name(reporter.get("name")),
            "phone": mask_phone(reporter.get("phone")), "email": None}
