"""The petition service's Prometheus metrics: the flow of petitions where it happens, and
gauges of the open work and the three rates (三率), refreshed from the projections.

Labels are grid, category, community and department ids: bounded by the registry (45
grids, 13 categories in the demo county, so at most some 600 series per counter). A
city of thousands of grids should drop the grid label (see the operations notes).
"""

from datetime import timedelta

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

# by: grid, community or department; id: which one. A rate with nothing to count has no
# series (rather than a misleading 0).
RATE_LABELS = ["by", "id"]
RATES = {
    "response": Gauge("petition_response_rate", "Dispatched petitions acknowledged within "
                      "their time limit, of those raised in the rates window", RATE_LABELS),
    "resolution": Gauge("petition_resolution_rate", "Dispatched petitions resolved, of those "
                        "raised in the rates window", RATE_LABELS),
    "satisfaction": Gauge("petition_satisfaction_rate", "Rated petitions whose last rating "
                          "was satisfied, of those raised in the rates window", RATE_LABELS),
}
RATE_BASE = Gauge("petition_rate_base", "How many petitions a rate is over (dispatched for "
                  "response and resolution, rated for satisfaction)", ["rate", *RATE_LABELS])
BASES = {"response": "dispatched", "resolution": "dispatched", "satisfaction": "rated"}


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


def refresh(petitions, now, rates_days):
    """Set the gauges from the petitions' figures: the open work of all of them, the three
    rates of those raised in the last ``rates_days``."""
    work = figures.open_work_by_grid(petitions, now)
    since = (now - timedelta(days=rates_days)).isoformat()
    rates = figures.rates_by_place([p for p in petitions if p["raised_at"] >= since])
    # Cleared and set with no I/O between: a scrape (another green thread) sees either the
    # old figures or the new ones, and places with nothing left drop out.
    for gauge in (OPEN, OVERDUE, UNDER_SUPERVISION, RATE_BASE, *RATES.values()):
        gauge.clear()
    for grid, counts in work.items():
        OPEN.labels(grid).set(counts["open"])
        OVERDUE.labels(grid).set(counts["overdue"])
        UNDER_SUPERVISION.labels(grid).set(counts["under_supervision"])
    for (by, id), found in rates.items():
        for rate, gauge in RATES.items():
            if found[f"{rate}_rate"] is not None:
                gauge.labels(by, id).set(found[f"{rate}_rate"])
                RATE_BASE.labels(rate, by, id).set(found[BASES[rate]])
