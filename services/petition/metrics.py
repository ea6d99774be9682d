"""The petition service's Prometheus metrics: the flow of petitions where it happens, and
gauges of the open work, refreshed from the projections. (The three rates' gauges are
the grid service's evaluation's.)

Labels are grid, category, community and department ids: bounded by the registry (45
grids, 13 categories in the demo county, so at most some 600 series per counter). A
city of thousands of grids should drop the grid label (see the operations notes).
"""

from prometheus_client import Counter, Gauge

from services.petition import figures

RAISED = Counter("petitions_raised_total", "Petitions raised, by grid and category",
                 ["grid", "category"])
DISPATCHED = Counter("petitions_dispatched_total", "Dispatch rounds the petition service "
                     "recorded (a return or reopening dispatches again), by grid and category",
                     ["grid", "category"])
RESOLVED = Counter("petitions_resolved_total", "Petitions resolved by their handler, by grid "
                   "and category", ["grid", "category"])

OPEN = Gauge("petitions_open", "Petitions dispatched and not yet resolved, by grid", ["grid"])
OVERDUE = Gauge("petitions_overdue", "Open petitions past their finish deadline, by grid",
                ["grid"])
UNDER_SUPERVISION = Gauge("petitions_under_supervision", "Open petitions under supervision "
                          "(督办: overdue, escalated by staff, or blocked funding), by grid",
                          ["grid"])

def count_change(change, petition):
    """Count what a change the store saved did: ``change`` is None when the store skipped it
    (an event it had already applied), so a redelivered event counts nothing."""
    if change is None:
        return
    labels = (petition["grid_id"], petition["category"])
    if "dispatched_at" in change.set:
        DISPATCHED.labels(*labels).inc()
    if any(event["type"] == "petition.resolved.v1" for event in change.events):
        RESOLVED.labels(*labels).inc()


def refresh(open_petitions, now):
    """Set the gauges of open work from the petitions still being handled."""
    work = figures.open_work_by_grid(open_petitions, now)
    # Cleared and set with no I/O between: a scrape (another green thread) sees either the
    # old figures or the new ones, and grids with nothing left drop out.
    for gauge in (OPEN, OVERDUE, UNDER_SUPERVISION):
        gauge.clear()
    for grid, counts in work.items():
        OPEN.labels(grid).set(counts["open"])
        OVERDUE.labels(grid).set(counts["overdue"])
        UNDER_SUPERVISION.labels(grid).set(counts["under_supervision"])
