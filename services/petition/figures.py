"""The three rates (三率) by which residents judge how their matters are handled.

- response rate: dispatched petitions acknowledged within their time limit;
- resolution rate: dispatched petitions resolved;
- satisfaction rate: rated petitions whose last rating was satisfied.

Plain functions over petition documents, which are themselves the projection of
every event about a petition, so the figures follow from the event history.
"""

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
    by_grid = {g["_id"]: {"grid_id": g["_id"], "name": g["name"], "boundary": g.get("boundary"),
                          "open": 0, "overdue": 0} for g in grids}
    for p in petitions:
        if p["state"] in OPEN and p["grid_id"] in by_grid:
            by_grid[p["grid_id"]]["open"] += 1
            by_grid[p["grid_id"]]["overdue"] += bool(p.get("finish_by") and p["finish_by"] < at)
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


def _share(part, whole):
    return round(part / whole, 4) if whole else None
