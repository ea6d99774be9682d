"""Evaluation (考核): the three rates (三率) of any place, department or handler, folded
from the events of each petition, so they can be rebuilt from the event log and give
the same answer.

Each petition's events fold into its *facts*: where it is, and each dispatch round's
handler, department, clocks, resolution and rating (a fold of ``shared.folds``). Figures
count over those facts:

- for a place (grid, workstation, community, sub-district, district) the unit is the
  petition, in the period of its first dispatch;
- for a handler or a department the unit is the round dispatched to them, in the
  period of that dispatch, so a round handed back or overturned counts against
  whoever had it, not whoever has the petition now.

The three rates over a set of units:

- response rate = units acknowledged (签收) by their time limit / units dispatched
- resolution rate = units whose resolution stands / units dispatched; a resolution
  stands unless the petition was later reopened or a spot check overturned it
- satisfaction rate = units rated satisfied / units rated (the last rating counts)

Plain Python: nothing here knows of nameko or the database.
"""

import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from services.grid.dispatcher import handler_key
from shared import folds

PLACE_LEVELS = ("grid", "workstation", "community", "sub_district", "district")
# Reports count days as residents live them: on the calendar's wall clock.
LOCAL = ZoneInfo("Asia/Shanghai")

# The events a petition's facts are folded from.
FOLDED = ("petition.dispatched.v1", "petition.acknowledged.v1", "petition.resolved.v1",
          "petition.returned.v1", "petition.reopened.v1", "petition.verified.v1",
          "petition.closed.v1", "spot_check.overturned.v1")


def fold(petition_id, events, places_of):
    """The facts of one petition from its events (dicts with type, time, id and data), in
    any order (see ``shared.folds``). ``places_of(grid_id)`` gives the grid's places above
    it, for events logged before a dispatch named them."""
    return folds.fold(start, partial(apply, places_of), petition_id, events)


def fold_in(petition_id, facts, event, log, places_of):
    """``facts`` as stored (None before the first event) with ``event`` folded in; with no
    event, the petition's whole ``log()`` folded again."""
    return folds.fold_in(start, partial(apply, places_of), petition_id, facts, event, log)


def start(petition_id):
    return {"_id": petition_id, "grid_id": None, "community_id": None, "places": [],
            "rounds": [], "handlers": [], "departments": [], "dispatched_at": None,
            "week": None, "month": None, "closed": None, "reopened": 0, "returned": 0,
            "overturned": 0}


def apply(places_of, facts, event):
    """``facts`` with one more event applied after the others."""
    facts = dict(facts)
    data, at, kind = event["data"], event["time"], event["type"]
    rounds = {r["round"]: dict(r) for r in facts["rounds"]}
    if kind == "petition.dispatched.v1":
        handler = data["handler"]
        rounds[data["round"]] = {
            "round": data["round"], "handler": handler_key(handler),
            "department_id": (data.get("funding") or {}).get("department_id")
            or handler.get("department_id"),
            "dispatched_at": at, "acknowledge_by": data["acknowledge_by"],
            "due_by": data["due_by"], "acknowledged_at": None, "resolved_at": None,
            "undone": None, "satisfied": None}
        if facts["grid_id"] is None:
            grid = facts["grid_id"] = data["grid_id"]
            facts["community_id"] = data["community_id"]
            above = data.get("places_above")
            facts["places"] = [grid, *(places_of(grid) if above is None else above)]
            facts["dispatched_at"] = at
            facts["week"], facts["month"] = week_of(at), month_of(at)
    elif kind == "petition.closed.v1":
        facts["closed"] = {"at": at, "outcome": data["outcome"]}
    elif kind in ("petition.returned.v1", "petition.reopened.v1"):
        facts[kind.split(".")[1]] += 1
        undone = rounds.get(data["round"] - 1)
        if undone and not undone["undone"]:
            undone["undone"] = kind.split(".")[1]
    elif kind == "spot_check.overturned.v1":
        facts["overturned"] += 1
        checked = _last_resolved(rounds)
        if checked:
            checked["undone"] = "overturned"
    elif kind == "petition.verified.v1":
        rated = _last_resolved(rounds)
        if rated:
            rated["satisfied"] = data["satisfied"]
    elif (round_ := rounds.get(data.get("round"))) is not None:
        field = {"petition.acknowledged.v1": "acknowledged_at",
                 "petition.resolved.v1": "resolved_at"}[kind]
        round_[field] = round_[field] or at
    facts["rounds"] = [rounds[n] for n in sorted(rounds)]
    facts["handlers"] = sorted({r["handler"] for r in facts["rounds"]})
    facts["departments"] = sorted({r["department_id"] for r in facts["rounds"]
                                   if r["department_id"]})
    return facts


def _last_resolved(rounds):
    resolved = [r for r in rounds.values() if r["resolved_at"]]
    return max(resolved, key=lambda r: r["round"]) if resolved else None


def week_of(at):
    year, week, _ = _local(at).isocalendar()
    return f"{year}-W{week:02d}"


def month_of(at):
    return _local(at).strftime("%Y-%m")


def _local(at):
    return datetime.fromisoformat(at).astimezone(LOCAL)


# Units and the rates over them

def petition_unit(facts):
    """A petition as a place counts it: its first round's clock, its standing outcome."""
    first, last = facts["rounds"][0], facts["rounds"][-1]
    rated = [r["satisfied"] for r in facts["rounds"] if r["satisfied"] is not None]
    return {"at": facts["dispatched_at"], "on_time": _on_time(first),
            "resolved": bool(last["resolved_at"]) and not last["undone"],
            "satisfied": rated[-1] if rated else None}


def round_units(facts):
    """Each round as its handler and department count it."""
    return [{"at": r["dispatched_at"], "handler": r["handler"],
             "department_id": r["department_id"], "on_time": _on_time(r),
             "resolved": bool(r["resolved_at"]) and not r["undone"],
             "satisfied": r["satisfied"]} for r in facts["rounds"]]


def _on_time(round_):
    # Parsed, not compared as text: the dispatcher may give its limits in any offset.
    return bool(round_["acknowledged_at"]) and (
        datetime.fromisoformat(round_["acknowledged_at"])
        <= datetime.fromisoformat(round_["acknowledge_by"]))


def three_rates(units):
    """The three rates with the counts behind each; a rate with nothing to count is None."""
    return rates_of_counts(Counts.of(
        (u["on_time"], u["resolved"], u["satisfied"]) for u in units))


class Counts:
    """The counts behind the three rates, added up one unit's marks (on time, resolved,
    satisfied or None) at a time."""

    def __init__(self):
        self.dispatched = self.on_time = self.resolved = self.rated = self.satisfied = 0

    @classmethod
    def of(cls, marks):
        counts = cls()
        for mark in marks:
            counts.add(mark)
        return counts

    def add(self, mark):
        on_time, resolved, satisfied = mark
        self.dispatched += 1
        self.on_time += on_time
        self.resolved += resolved
        if satisfied is not None:
            self.rated += 1
            self.satisfied += satisfied


def rates_of_counts(found):
    counts = {"dispatched": found.dispatched, "acknowledged_on_time": found.on_time,
              "resolved": found.resolved, "rated": found.rated, "satisfied": found.satisfied}
    return {**counts,
            "response_rate": share(counts["acknowledged_on_time"], counts["dispatched"]),
            "resolution_rate": share(counts["resolved"], counts["dispatched"]),
            "satisfaction_rate": share(counts["satisfied"], counts["rated"])}


def share(part, whole):
    return round(part / whole, 4) if whole else None


def figures(units, start=None, end=None):
    """The three rates of the units dispatched in [start, end), and their trend by week and
    by month (local dates)."""
    units = [u for u in units if (not start or u["at"] >= start) and (not end or u["at"] < end)]
    trend = {"week": defaultdict(list), "month": defaultdict(list)}
    for unit in units:
        trend["week"][week_of(unit["at"])].append(unit)
        trend["month"][month_of(unit["at"])].append(unit)
    return {"from": start, "to": end, **three_rates(units),
            "trend": {step: [{"period": period, **three_rates(group)}
                             for period, group in sorted(groups.items())]
                      for step, groups in trend.items()}}


SUBJECTS = (*PLACE_LEVELS, "handler", "department")


def facts_field(subject_kind):
    """Which list in the facts names the subject: places, handlers or departments."""
    if subject_kind in PLACE_LEVELS:
        return "places"
    return "handlers" if subject_kind == "handler" else "departments"


def rates_by_subject(facts_list):
    """The three rates per grid, per community (petitions) and per department (rounds),
    keyed ("grid", "g01"), ("community", "c-hexi"), ("department", "housing")."""
    return rates_of_tallies(tally(facts) for facts in facts_list)


def tally(facts):
    """What a petition's facts count for in the gauges, small enough to keep a month of
    in memory: (by, id, unit) for its grid and community (the petition) and for each
    round's department, a unit being (on time, resolved, satisfied)."""
    if not facts["rounds"]:
        return ()
    petition = _marks(petition_unit(facts))
    return (("grid", sys.intern(facts["grid_id"]), petition),
            ("community", sys.intern(facts["community_id"]), petition),
            *(("department", sys.intern(r["department_id"]), _marks(r))
              for r in round_units(facts) if r["department_id"]))


_MARKS = {}


def _marks(unit):
    found = (unit["on_time"], unit["resolved"], unit["satisfied"])
    return _MARKS.setdefault(found, found)  # twelve kinds, shared by every tally


def rates_of_tallies(tallies):
    counts = defaultdict(Counts)
    for entries in tallies:
        for by, id, marks in entries:
            counts[by, id].add(marks)
    return {subject: rates_of_counts(found) for subject, found in counts.items()}


class MonthTally:
    """The month's petitions as the gauges count them (``tally``), kept in the process and
    brought up to date by the facts changed since, minute by minute (facts are stamped
    with the minute of their last change), instead of read whole at every refresh: a
    million petitions a year make a month's facts take 12 s to read. Read whole again at
    a new month, and every ``WHOLE_EVERY`` for what a minute's read could miss (a write
    that took longer than ``MARGIN`` to land after its stamp)."""

    MARGIN = timedelta(minutes=2)
    WHOLE_EVERY = timedelta(hours=1)

    def __init__(self):
        self.month, self.read_whole_at, self.read_to, self.tallies = None, None, None, {}

    def minutes_to_read(self, at):
        """The minutes whose changes to read, or None when the month is to be read whole."""
        if (self.month != month_of(at.isoformat())
                or at - self.read_whole_at >= self.WHOLE_EVERY):
            return None
        first = self.read_to - self.MARGIN
        return [minute_of(first + timedelta(minutes=n))
                for n in range(int((at - first).total_seconds() // 60) + 1)]

    def read_whole(self, facts_list, at):
        self.month, self.read_whole_at, self.read_to = month_of(at.isoformat()), at, at
        self.tallies = {}
        self.changed(facts_list, at)

    def changed(self, facts_list, at):
        for facts in facts_list:
            if facts["month"] == self.month:
                self.tallies[facts["_id"]] = tally(facts)
        self.read_to = at

    def rates(self):
        return rates_of_tallies(self.tallies.values())


def minute_of(at):
    """The minute a change is stamped with (UTC)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def units_of(facts_list, subject_kind, subject_id):
    """The units a subject counts: a place counts petitions, a handler or a department
    counts rounds."""
    if subject_kind in PLACE_LEVELS:
        return [petition_unit(f) for f in facts_list if f["rounds"]]
    key = "handler" if subject_kind == "handler" else "department_id"
    return [u for f in facts_list for u in round_units(f) if u[key] == subject_id]
