"""The metrics the dashboards read, computed from the services' own figures."""

from datetime import UTC, datetime

from prometheus_client import REGISTRY

from services.funding import metrics as funding_metrics
from services.grid.evaluation import three_rates
from services.grid.evaluation_service import show_rates
from services.petition import metrics
from shared.domain import Change

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
HOUSING = {"department_id": "housing", "budget_line": "public_infrastructure"}


def petition(grid="g01", community="c-hexi", raised="2026-11-23T08:00:00+00:00", **fields):
    return {"grid_id": grid, "community_id": community, "state": "dispatched",
            "raised_at": raised, "dispatched_at": "2026-11-23T08:01:00+00:00",
            "acknowledge_by": "2026-11-23T09:00:00+00:00", "funding": HOUSING, **fields}


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels)


def test_a_rate_with_nothing_to_count_has_no_series_rather_than_zero():
    show_rates({("grid", "g01"): three_rates([{"on_time": False, "resolved": False,
                                                "satisfied": None}])})
    assert sample("evaluation_response_rate", by="grid", id="g01") == 0.0
    assert sample("evaluation_rate_base", rate="response", by="grid", id="g01") == 1
    assert sample("evaluation_satisfaction_rate", by="grid", id="g01") is None


def test_overdue_and_supervised_open_work_is_counted_per_grid():
    metrics.refresh([petition(grid="g07", raised="2026-09-01T08:00:00+00:00",
                              finish_by="2026-09-05T08:00:00+00:00", escalation_level=1)], NOW)
    assert sample("petitions_open", grid="g07") == 1
    assert sample("petitions_overdue", grid="g07") == 1
    assert sample("petitions_under_supervision", grid="g07") == 1


def test_a_grid_whose_work_is_done_drops_out_at_the_next_refresh():
    metrics.refresh([petition(grid="g08")], NOW)
    metrics.refresh([petition(grid="g08", state="closed")], NOW)
    assert sample("petitions_open", grid="g08") is None


def test_a_change_the_store_skipped_counts_nothing_and_a_saved_one_counts_once():
    saved = petition(grid="g09", category="drains")
    before = sample("petitions_dispatched_total", grid="g09", category="drains") or 0
    metrics.count_change(None, saved)
    metrics.count_change(Change(set={"dispatched_at": NOW.isoformat()}), saved)
    assert sample("petitions_dispatched_total", grid="g09", category="drains") == before + 1


def test_a_resolution_counts_when_the_saved_change_announces_it():
    saved = petition(grid="g10", category="sanitation")
    before = sample("petitions_resolved_total", grid="g10", category="sanitation") or 0
    metrics.count_change(Change(events=[{"type": "petition.resolved.v1"}]), saved)
    assert sample("petitions_resolved_total", grid="g10", category="sanitation") == before + 1


def test_what_a_line_has_on_hold_is_summed_over_its_fiscal_years():
    funding_metrics.refresh({"held:housing:public_infrastructure:2026": 30_000,
                             "held:housing:public_infrastructure:2027": 5_000,
                             "held:justice:comprehensive_governance:2026": 0})
    assert sample("funding_on_hold_fen", department="housing",
                  budget_line="public_infrastructure") == 35_000
    assert sample("funding_on_hold_fen", department="justice",
                  budget_line="comprehensive_governance") == 0
