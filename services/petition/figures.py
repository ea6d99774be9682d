"""The three rates (三率) by which residents judge how their matters are handled.

- response rate: dispatched petitions acknowledged within their time limit;
- resolution rate: dispatched petitions resolved;
- satisfaction rate: rated petitions whose last rating was satisfied.

Plain functions over petition documents, which are themselves the projection of
every event about a petition, so the figures follow from the event history.
"""

from collections import defaultdict
from datetime import timedelta

OPEN = ("dispatched", "acknowledged", "in_progress", "returned", "reopened")


def three_rates(petitions):
    dispatched = [p for p in petitions if p.get("dispatched_at")]
    on_time = sum(1 for p in dispatched if p.get("acknowledged_at") and p.get("acknowledge_by")
                  and p["acknowledged_at"] <= p["acknowledge_by"])
    resolved = sum(1 for p in dispatched if p.get("resolved_at"))
    rated = [p for p in petitions if p.get("ratings")]
    satisfied = sum(1 for p in rated if p["ratings"][-1]["satisfied"])
    return {"dispatched": len(dispatched), "acknowledged_on_time": on_time,
            "response_rate": _share(on_time, len(dispatched)),
            "resolved": resolved, "resolution_rate": _share(resolved, len(dispatched)),
            "rated": len(rated), "satisfied": satisfied,
            "satisfaction_rate": _share(satisfied, len(rated))}


def operations(petitions, grids, now):
    """What the operations page shows: per grid the open petitions and the share overdue,
    the flow of the last hour in five-minute steps, and the three rates."""
    at = now.isoformat()
    work = open_work_by_grid(petitions, now)
    by_grid = {g["_id"]: {"grid_id": g["_id"], "name": g["name"], "boundary": g.get("boundary"),
                          "open": work[g["_id"]]["open"], "overdue": work[g["_id"]]["overdue"]}
               for g in grids}
    for grid in by_grid.values():
        grid["overdue_share"] = _share(grid["overdue"], grid["open"])
    steps = [now - timedelta(minutes=5 * n) for n in range(12, 0, -1)]
    flow = [{"from": start.isoformat(), **{
        name: sum(1 for p in petitions
                  if p.get(field) and start.isoformat() <= p[field] < (start + timedelta(
                      minutes=5)).isoformat())
        for name, field in (("raised", "raised_at"), ("dispatched", "dispatched_at"),
                            ("resolved", "resolved_at"))}} for start in steps]
    return {"at": at, "grids": list(by_grid.values()), "last_hour": flow,
            "rates": three_rates(petitions)}


def open_work_by_grid(petitions, now):
    """Per grid: the open petitions, those past their finish deadline, and those under
    supervision (督办). Grids with nothing open are absent (a lookup gives zeros)."""
    at = now.isoformat()
    work = defaultdict(lambda: {"open": 0, "overdue": 0, "under_supervision": 0})
    for p in petitions:
        if p["state"] in OPEN:
            grid = work[p["grid_id"]]
            grid["open"] += 1
            grid["overdue"] += bool(p.get("finish_by") and p["finish_by"] < at)
            grid["under_supervision"] += bool(p.get("escalation_level"))
    return work


def department_of(petition):
    """The department that answers for the current round: the one whose budget pays for it,
    else the one that handles it; None before dispatch, or for a team nobody funds."""
    funding, handler = petition.get("funding") or {}, petition.get("handler") or {}
    return funding.get("department_id") or handler.get("department_id")


def rates_by_place(petitions):
    """The three rates per grid, per community and per department, keyed ("grid", "g01"),
    ("community", "c-hexi"), ("department", "housing")."""
    groups = defaultdict(list)
    for p in petitions:
        groups["grid", p["grid_id"]].append(p)
        groups["community", p["community_id"]].append(p)
        if department := department_of(p):
            groups["department", department].append(p)
    return {key: three_rates(group) for key, group in groups.items()}


def _share(part, whole):
    return round(part / whole, 4) if whole else None
