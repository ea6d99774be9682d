"""The three rates (三率), checked against figures counted by hand."""

from datetime import UTC, datetime

from services.petition.figures import operations, three_rates

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def petition(**fields):
    return {"grid_id": "g01", "state": "dispatched", "raised_at": "2026-11-23T08:00:00+00:00",
            **fields}


ON_TIME = {"dispatched_at": "2026-11-23T09:01:00+00:00",
           "acknowledge_by": "2026-11-23T11:00:00+00:00",
           "acknowledged_at": "2026-11-23T09:30:00+00:00"}
LATE = {**ON_TIME, "acknowledged_at": "2026-11-23T12:00:00+00:00"}


def test_each_rate_is_its_count_over_its_base():
    history = [
        petition(**ON_TIME, resolved_at="2026-11-23T09:50:00+00:00",
                 ratings=[{"rating": 5, "satisfied": True}]),
        petition(**ON_TIME, resolved_at="2026-11-23T09:55:00+00:00",
                 ratings=[{"rating": 1, "satisfied": False}, {"rating": 4, "satisfied": True}]),
        petition(**LATE, resolved_at="2026-11-23T13:00:00+00:00",
                 ratings=[{"rating": 2, "satisfied": False}]),
        petition(**LATE),
        petition(state="raised"),
    ]
    assert three_rates(history) == {
        "dispatched": 4, "acknowledged_on_time": 2, "response_rate": 0.5,
        "resolved": 3, "resolution_rate": 0.75,
        "rated": 3, "satisfied": 2, "satisfaction_rate": 0.6667}


def test_a_rate_with_nothing_to_count_is_none_not_zero():
    assert three_rates([])["response_rate"] is None


def test_the_operations_page_counts_open_and_overdue_per_grid_and_the_last_hours_flow():
    grids = [{"_id": "g01", "name": "Hexi 1"}, {"_id": "g02", "name": "Hexi 2"}]
    history = [petition(**ON_TIME, finish_by="2026-11-23T09:59:00+00:00"),
               petition(**ON_TIME, finish_by="2026-11-24T09:00:00+00:00"),
               petition(grid_id="g02", state="closed", raised_at="2026-11-23T09:57:00+00:00")]
    shown = operations(history, grids, NOW)
    g01, g02 = shown["grids"]
    assert (g01["open"], g01["overdue"], g01["overdue_share"]) == (2, 1, 0.5)
    assert (g02["open"], g02["overdue_share"]) == (0, None)
    assert sum(step["raised"] for step in shown["last_hour"]) == 1
    assert shown["last_hour"][-1]["raised"] == 1
