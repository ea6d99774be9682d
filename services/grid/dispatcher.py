"""The dispatcher (派单): who handles a petition, who pays, by when, and what happens
when the handler is late or sends it back. No matter ever falls through or circles forever.

**Rules.** A rule maps (category, community type, area) to a handler, the department
and budget line that pay ("funds follow the task", 费随事转), an estimate, and time
limits to acknowledge and to finish counted on the working calendar. The area is
anything from one grid up to a district, or ``*``. The most specific rules win:
an exact category first, then the narrowest area, then an exact community type.
A handler is a role in the grid's butler team (管家团队), a named volunteer team,
any volunteer team with a skill, the whole butler team, or a functional department.
Among the eligible handlers of the winning rules, the one with the fewest open
orders gets it. The grid's butler team is the last resort. Every dispatch keeps
its explanation: which rule won, and why each other candidate did not.

**Returns (退单).** A handler may send an order back (wrong area, not our duty,
needs another department). The dispatcher routes it again without any handler that
returned it; after ``max_returns`` returns, or when nobody is left, a person at the
dispatch centre rules who handles it, and that ruling is final: it cannot be
returned again.

**Clocks.** A missed acknowledge deadline brings a reminder (催办), then supervision
(督办) one level up: the grid workstation, then the sub-district. The finish
deadline does the same on a longer scale. While an extension request is pending the
finish clock stands still; the time it stood still is added back when it resumes.
"""

from dataclasses import dataclass
from datetime import datetime

from shared.catalogue import CATALOGUE
from shared.domain import Change, settings_from_config
from shared.errors import Conflict, InvalidFields
from shared.events import new_event

ANY = "*"
COMMUNITY_TYPES = ("urban", "industrial", "agricultural_industry", "suburban", "market_town")
# Where a rule's area may be, narrowest last: a grid rule beats a community rule.
AREA_LEVELS = ("district_id", "sub_district_id", "community_id", "workstation_id", "_id")

FALLBACK_RULE = {
    "id": "fallback-butler-team", "category": ANY, "community_type": ANY, "area": ANY,
    "handler": {"kind": "butler_team"}, "funding": None, "estimate_fen": 0,
    "acknowledge_within": {"amount": 1, "unit": "working_days"},
    "finish_within": {"amount": 3, "unit": "working_days"},
}


@dataclass(frozen=True)
class DispatchPolicy:
    """How many returns before a person rules, and when late orders go up a level."""

    max_returns: int = 2
    acknowledge_to_workstation_after: float = 2.0  # working hours past the deadline
    acknowledge_to_sub_district_after: float = 7.0
    finish_to_workstation_after: float = 1.0  # working days past the deadline
    finish_to_sub_district_after: float = 5.0

    @classmethod
    def from_config(cls, config):
        return settings_from_config(cls, config, "DISPATCH")

    def steps(self, clock):
        """(step, amount past the deadline, unit, escalation level) for a clock."""
        if clock == "acknowledge":
            return [("remind", 0, "working_hours", 0),
                    ("workstation", self.acknowledge_to_workstation_after, "working_hours", 1),
                    ("sub_district", self.acknowledge_to_sub_district_after, "working_hours", 2)]
        return [("remind", 0, "working_days", 0),
                ("workstation", self.finish_to_workstation_after, "working_days", 1),
                ("sub_district", self.finish_to_sub_district_after, "working_days", 2)]


# Choosing the handler

def choose(request, grid, rules, teams, load, excluded):
    """The rule and handler for this round, and why; (None, None, explanation) when
    every eligible handler has returned the order."""
    considered, tiers = [], {}
    for rule in [*rules, FALLBACK_RULE]:
        why_not = _mismatch(rule, request["category"], grid)
        if why_not:
            considered.append(_line(rule, None, "does_not_apply", why_not))
            continue
        handlers, why_none = handlers_of(rule, grid, teams)
        if not handlers:
            considered.append(_line(rule, None, "no_handler", why_none))
        for handler in handlers:
            tiers.setdefault(_specificity(rule, request["category"], grid), []).append(
                (rule, handler))
    chosen = None
    for score in sorted(tiers, reverse=True):
        eligible = []
        for rule, handler in tiers[score]:
            if handler_key(handler) in excluded:
                considered.append(_line(rule, handler, "returned_it",
                                        "this handler returned the order before"))
            elif chosen:
                considered.append(_line(rule, handler, "less_specific",
                                        f"rule {chosen[0]['id']} is more specific"))
            else:
                eligible.append((rule, handler))
        if eligible and not chosen:
            eligible.sort(key=lambda rh: load.get(handler_key(rh[1]), 0))
            chosen = eligible[0]
            for rule, handler in eligible[1:]:
                considered.append(_line(rule, handler, "busier", (
                    f"{load.get(handler_key(handler), 0)} open orders against "
                    f"{load.get(handler_key(chosen[1]), 0)}")))
    if chosen is None:
        return None, None, {"chosen": None, "considered": considered}
    rule, handler = chosen
    reason = (f"rule {rule['id']} is the most specific that applies"
              + (f"; {handler['name']} has the fewest open orders "
                 f"({load.get(handler_key(handler), 0)})" if len(tiers.get(
                     _specificity(rule, request["category"], grid), [])) > 1 else ""))
    return rule, handler, {"chosen": {"rule_id": rule["id"], "handler": handler["name"],
                                      "why": reason}, "considered": considered}


def handlers_to_balance(request, grid, rules, teams):
    """The keys of the handlers whose open orders ``choose`` may weigh: those that share
    the specificity of the rules that apply with another handler. A handler alone in its
    tier is chosen or passed over whatever its load, so its orders need no count."""
    tiers = {}
    for rule in [*rules, FALLBACK_RULE]:
        if not _mismatch(rule, request["category"], grid):
            tiers.setdefault(_specificity(rule, request["category"], grid), []).extend(
                handlers_of(rule, grid, teams)[0])
    return {handler_key(h) for handlers in tiers.values() if len(handlers) > 1
            for h in handlers}


def _mismatch(rule, category, grid):
    if rule["category"] not in (ANY, category):
        return f"it is for {rule['category']}, not {category}"
    if rule["community_type"] not in (ANY, grid["community_type"]):
        return f"it is for {rule['community_type']} communities, not {grid['community_type']}"
    if rule["area"] != ANY and rule["area"] not in [grid.get(level) for level in AREA_LEVELS]:
        return f"its area {rule['area']} does not contain grid {grid['_id']}"
    return None


def _specificity(rule, category, grid):
    area = 0
    if rule["area"] != ANY:
        area = 1 + [grid.get(level) for level in AREA_LEVELS].index(rule["area"])
    fallback = rule is FALLBACK_RULE
    return (not fallback, rule["category"] == category, area,
            rule["community_type"] == grid["community_type"])


def handlers_of(rule, grid, teams):
    """The concrete handlers a rule names for this grid, or why there are none."""
    spec = rule["handler"]
    butler = f"butler-{grid['_id']}"
    if spec["kind"] == "butler_team":
        return [{"kind": "butler_team", "team_id": butler,
                 "name": f"butler team of grid {grid['name']}"}], None
    if spec["kind"] == "butler_role":
        holders = grid.get("butler_team", {}).get(spec["role"], [])
        if not holders:
            return [], f"nobody holds the role {spec['role']} in grid {grid['_id']}"
        names = ", ".join(p["name"] for p in holders)
        return [{"kind": "butler_team", "team_id": butler, "role": spec["role"],
                 "name": f"{spec['role'].replace('_', ' ')} of grid {grid['name']} ({names})"}], None
    if spec["kind"] == "volunteer_team":
        team = teams.get(spec["team_id"])
        name = team["name"] if team else spec.get("name") or spec["team_id"]
        return [{"kind": "volunteer_team", "team_id": spec["team_id"], "name": name}], None
    if spec["kind"] == "volunteer_skill":
        able = sorted((t for t in teams.values()
                       if t["kind"] == "volunteer_team" and spec["skill"] in t["skills"]),
                      key=lambda t: t["_id"])
        if not able:
            return [], f"no volunteer team covers the skill {spec['skill']}"
        return [{"kind": "volunteer_team", "team_id": t["_id"], "name": t["name"],
                 "skill": spec["skill"]} for t in able], None
    return [{"kind": "department", "department_id": spec["department_id"],
             "name": spec.get("name") or spec["department_id"]}], None


def handler_key(handler):
    """What a return excludes and open load is counted by: a team, a role in a
    butler team, or a department."""
    if handler["kind"] == "department":
        return f"department:{handler['department_id']}"
    if handler.get("role"):
        return f"{handler['team_id']}/{handler['role']}"
    return handler["team_id"]


def _line(rule, handler, outcome, why):
    return {"rule_id": rule["id"], "handler": handler["name"] if handler else None,
            "outcome": outcome, "why": why}


# Dispatching a round

def dispatch(request, grid, rules, teams, load, previous, policy, calendar, now, cause):
    """Dispatch the round ``request`` asks for (an acceptance, a return or a reopening).

    Returns the dispatch record and its events: a ``petition.dispatched``, or, when
    the order has been returned too often or nobody is left, a request for a ruling.
    """
    excluded = list((previous or {}).get("excluded", []))
    returns = (previous or {}).get("returns", 0)
    if cause.type == "petition.returned.v1" and previous and previous.get("handler"):
        excluded.append(handler_key(previous["handler"]))
        returns += 1
    base = {"_id": dispatch_id(request["petition_id"], request["round"]),
            "petition_id": request["petition_id"], "round": request["round"], **_where(grid),
            "category": request["category"], "excluded": excluded, "returns": returns,
            "requested_at": now.isoformat()}
    if cause.type == "petition.reopened.v1" and previous and previous.get("handler"):
        rule = next((r for r in rules if r["id"] == previous["rule_id"]), FALLBACK_RULE)
        handler = previous["handler"]
        explanation = {"chosen": {"rule_id": rule["id"], "handler": handler["name"],
                                  "why": "reopened: back to the handler of the last round"},
                       "considered": []}
    else:
        rule, handler, explanation = choose(request, grid, rules, teams, load, excluded)
    if handler is None or returns > policy.max_returns:
        why = (f"returned {returns} times, more than the {policy.max_returns} allowed"
               if returns > policy.max_returns else "every eligible handler has returned it")
        event = new_event(CATALOGUE, "dispatch.arbitration_requested.v1", "grid",
                          request["petition_id"], {
                              "petition_id": request["petition_id"], "round": request["round"],
                              "grid_id": grid["_id"], "returns": returns, "excluded": excluded},
                          cause.correlationid, cause)
        record = {**base, "state": "awaiting_ruling", "open": False, "handler": None,
                  "explanation": {**explanation, "chosen": None, "arbitration": why}}
        return record, [event]
    return _dispatched(base, rule, handler, explanation, policy, calendar, now,
                       cause.correlationid, cause)


def rule_by_arbiter(ruling, grid, teams, policy, calendar, now, correlation_id, record):
    """The dispatch centre's ruling: final, so the order cannot be returned again."""
    if record["state"] != "awaiting_ruling":
        raise Conflict(f"Round {record['round']} of {record['petition_id']} is {record['state']}, "
                       "not awaiting a ruling; a ruling is only for orders the dispatcher "
                       "could not place.")
    rule = {**FALLBACK_RULE, "id": f"ruling-by-{ruling['arbiter']}", "handler": ruling["handler"],
            "funding": ruling.get("funding"), "estimate_fen": ruling.get("estimate_fen", 0)}
    handlers, why_none = handlers_of(rule, grid, teams)
    if not handlers:
        raise InvalidFields("The ruling names no one who can take the order.",
                            fields={"handler": [why_none]})
    explanation = {"chosen": {"rule_id": rule["id"], "handler": handlers[0]["name"],
                              "why": f"ruled by {ruling['arbiter']}: {ruling['reason']}"},
                   "considered": record["explanation"]["considered"]}
    base = {**{key: record[key] for key in ("petition_id", "round", "category", "excluded",
                                            "returns")}, **_where(grid)}
    fields, events = _dispatched(base, rule, handlers[0], explanation, policy, calendar, now,
                                 correlation_id, None, final=True)
    fields.pop("_id", None)
    return Change(set={**fields, "ruling": {**ruling, "at": now.isoformat()}}, events=events)


PLACES_ABOVE = ("workstation_id", "community_id", "sub_district_id", "district_id")


def _where(grid):
    """Where a dispatch is: its grid and the places above it."""
    return {"grid_id": grid["_id"], **{key: grid.get(key) for key in PLACES_ABOVE}}


def places_above(placed):
    """The places above a grid, from the workstation up, of a grid or a dispatch."""
    return [placed[key] for key in PLACES_ABOVE if placed.get(key)]


def _dispatched(base, rule, handler, explanation, policy, calendar, now, correlation_id, cause,
                final=False):
    acknowledge_by = calendar.add(now, **rule["acknowledge_within"])
    due_by = calendar.add(now, **rule["finish_within"])
    funding = None
    if rule["funding"]:
        funding = {**rule["funding"], "fiscal_year": now.year,
                   "estimate_fen": rule["estimate_fen"], "centre_id": f"centre-{base['community_id']}"}
    event = new_event(CATALOGUE, "petition.dispatched.v1", "grid", base["petition_id"], {
        "petition_id": base["petition_id"], "grid_id": base["grid_id"],
        "community_id": base["community_id"], "category": base["category"],
        "round": base["round"], "rule_id": rule["id"], "handler": handler, "funding": funding,
        "acknowledge_by": acknowledge_by, "due_by": due_by, "final": final,
        "places": rule.get("places", 1), "urgent": rule.get("urgent", False),
        "places_above": places_above(base),
    }, correlation_id, cause)
    record = {**base, "state": "open", "open": True, "rule_id": rule["id"],
              "handler": event["data"]["handler"], "handler_key": handler_key(handler),
              "funding": funding, "acknowledge_by": acknowledge_by.isoformat(),
              "due_by": due_by.isoformat(), "dispatched_at": event["time"], "final": final,
              "explanation": explanation, "acknowledged_at": None, "clock_steps": [],
              "extension": None, "paused_since": None}
    record["next_clock_at"] = next_clock_at(record, policy, calendar)
    return record, [event]


def dispatch_id(petition_id, round):
    return f"{petition_id}/{round}"


# The clocks

def _deadline(record, clock):
    return datetime.fromisoformat(record["acknowledge_by" if clock == "acknowledge" else "due_by"])


def _running_clocks(record):
    if not record["open"]:
        return []
    clocks = [] if record["acknowledged_at"] else ["acknowledge"]
    if not record["paused_since"]:
        clocks.append("finish")
    return clocks


def due_steps(record, policy, calendar):
    """Every clock step not yet taken, with when it falls due, earliest first."""
    steps = []
    for clock in _running_clocks(record):
        deadline = _deadline(record, clock)
        for step, amount, unit, level in policy.steps(clock):
            key = f"{clock}:{step}"
            if key not in record["clock_steps"]:
                steps.append((calendar.add(deadline, amount, unit), key, clock, level))
    return sorted(steps)


def next_clock_at(record, policy, calendar):
    steps = due_steps(record, policy, calendar)
    return steps[0][0].isoformat() if steps else None


def run_clocks(now, policy, calendar, correlation_id, record):
    """Take every clock step that has fallen due: a reminder, or supervision one level up."""
    events, taken = [], []
    for at, key, clock, level in due_steps(record, policy, calendar):
        if at > now:
            break
        data = {"petition_id": record["petition_id"], "round": record["round"],
                "grid_id": record["grid_id"], "clock": clock,
                "deadline": _deadline(record, clock), "handler": record["handler"]}
        if level == 0:
            events.append(new_event(CATALOGUE, "dispatch.reminded.v1", "grid",
                                    record["petition_id"], data, correlation_id))
        else:
            to_place = record["workstation_id"] if level == 1 else record["sub_district_id"]
            events.append(new_event(CATALOGUE, "dispatch.escalated.v1", "grid",
                                    record["petition_id"],
                                    {**data, "level": level, "to_place": to_place or "unknown"},
                                    correlation_id))
        taken.append(key)
    if not taken:
        return None
    after = {**record, "clock_steps": record["clock_steps"] + taken}
    return Change(set={"next_clock_at": next_clock_at(after, policy, calendar)},
                  push={"clock_steps": taken}, events=events)


def progress(event_type, at, policy, calendar, record):
    """The petition was acknowledged, resolved or rejected: stop the clocks that no longer run."""
    if event_type == "petition.acknowledged.v1" and record["open"] and not record["acknowledged_at"]:
        change = {"acknowledged_at": at.isoformat(),
                  "acknowledged_on_time": at <= _deadline(record, "acknowledge")}
    elif event_type in ("petition.resolved.v1", "petition.rejected.v1") and record["open"]:
        change = {"open": False, "state": "resolved" if "resolved" in event_type else "rejected",
                  "resolved_at": at.isoformat()}
    else:
        return None
    return Change(set={**change, "next_clock_at": next_clock_at({**record, **change}, policy,
                                                                 calendar)})


def superseded(record):
    """A return or reopening starts a new round: this one's clocks and load end."""
    if not record["open"]:
        return None
    return Change(set={"open": False, "state": "superseded", "next_clock_at": None})


def request_extension(request, now, policy, calendar, correlation_id, record):
    """The handler asks for more time, before the deadline; the finish clock pauses."""
    if not record["open"]:
        raise Conflict(f"Round {record['round']} is {record['state']}; only an open order "
                       "can be given more time.")
    if (record.get("extension") or {}).get("state") == "pending":
        raise Conflict("An extension request is already pending; wait for its decision.")
    if now >= _deadline(record, "finish"):
        raise Conflict(f"The finish deadline {record['due_by']} has passed; an extension must "
                       "be asked for before it. Finish the work, or return the order.")
    event = new_event(CATALOGUE, "dispatch.extension_requested.v1", "grid",
                      record["petition_id"], {
                          "petition_id": record["petition_id"], "round": record["round"],
                          "grid_id": record["grid_id"], "actor": request["actor"],
                          "reason": request["reason"], "working_days": request["working_days"]},
                      correlation_id)
    extension = {**request, "state": "pending", "requested_at": now.isoformat()}
    paused = {**record, "extension": extension, "paused_since": now.isoformat()}
    return Change(set={"extension": extension, "paused_since": now.isoformat(),
                       "next_clock_at": next_clock_at(paused, policy, calendar)},
                  events=[event])


def decide_extension(decision, now, policy, calendar, correlation_id, record):
    """Grant or refuse: either way the finish clock resumes, and the time it stood
    still is added to the deadline; a grant adds the working days asked for."""
    extension = record.get("extension") or {}
    if extension.get("state") != "pending":
        raise Conflict("No extension request is pending for this order.")
    paused = calendar.working_time_between(datetime.fromisoformat(record["paused_since"]), now)
    due_by = calendar.add(_deadline(record, "finish"), paused.total_seconds() / 3600,
                          "working_hours")
    if decision["approve"]:
        due_by = calendar.add(due_by, extension["working_days"], "working_days")
    event = new_event(CATALOGUE, "dispatch.extension_decided.v1", "grid", record["petition_id"], {
        "petition_id": record["petition_id"], "round": record["round"],
        "grid_id": record["grid_id"], "actor": decision["actor"],
        "approved": decision["approve"], "reason": decision.get("reason"), "due_by": due_by,
    }, correlation_id)
    # A new deadline starts the finish clock's steps afresh.
    steps = [s for s in record["clock_steps"] if not s.startswith("finish:")]
    fields = {"extension": {**extension, "state": "granted" if decision["approve"] else "refused",
                            "decided_at": now.isoformat(), "decided_by": decision["actor"]},
              "paused_since": None, "due_by": due_by.isoformat(), "clock_steps": steps}
    fields["next_clock_at"] = next_clock_at({**record, **fields}, policy, calendar)
    return Change(set=fields, events=[event])
