"""The envelope: CloudEvents attributes, a versioned type, tolerant reading of data."""

import pytest
from marshmallow import ValidationError

from shared.catalogue import CATALOGUE
from shared.consumers import retry_delays, retry_step
from shared.events import InvalidEvent, load_event, new_event

DATA = {"task_id": "T-1", "petition_id": "P-1", "round": 1, "team_id": "t"}


def opened():
    return new_event(CATALOGUE, "task.opened.v1", "volunteer", "T-1", DATA, "corr")


def test_an_event_carries_the_cloudevents_attributes_and_correlation():
    event = opened()
    assert event["specversion"] == "1.0" and event["type"] == "task.opened.v1"
    assert {"id", "source", "time", "subject", "datacontenttype", "correlationid",
            "causationid"} <= set(event)


def test_consumers_ignore_fields_added_later_to_the_same_version():
    event = opened()
    event["data"]["priority"] = "high"
    assert "priority" not in load_event(CATALOGUE, event, "task.opened.v1").data


def test_a_producer_cannot_emit_data_its_schema_rejects():
    with pytest.raises(ValidationError):
        new_event(CATALOGUE, "task.opened.v1", "volunteer", "T-1", {"task_id": "T-1"}, "c")


@pytest.mark.parametrize("breakage, reason", [
    (lambda e: e.pop("time"), "envelope"),
    (lambda e: e.update(type="task.opened"), "envelope"),
    (lambda e: e.update(specversion="0.3"), "envelope"),
    (lambda e: e["data"].pop("team_id"), "data"),
    (lambda e: e.update(type="task.claimed.v1"), "task.claimed.v1"),
])
def test_an_invalid_event_is_refused_with_its_reason(breakage, reason):
    event = opened()
    breakage(event)
    with pytest.raises(InvalidEvent, match=reason):
        load_event(CATALOGUE, event, "task.opened.v1")


def test_every_catalogued_consumer_names_a_method_of_its_service():
    from services.funding.service import FundingService
    from services.grid.service import GridService
    from services.petition.service import PetitionService
    from services.volunteer.service import VolunteerService

    services = {s.name: s for s in (GridService, PetitionService, VolunteerService, FundingService)}
    for event_type in CATALOGUE:
        assert event_type.producer in services
        for service, method in event_type.consumers:
            assert callable(getattr(services[service], method, None)), (service, method)


def test_the_readme_event_catalogue_is_generated_from_the_catalogue():
    from pathlib import Path

    from tools.catalogue_doc import table

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert table() in readme, "regenerate with: python -m tools.catalogue_doc"


def test_a_failed_handler_backs_off_step_by_step_and_stays_at_the_longest_delay():
    delays = (1, 5, 30)
    assert [delays[retry_step(attempt, delays)] for attempt in range(1, 7)] == [1, 5, 30, 30,
                                                                                  30, 30]


def test_the_backoff_is_configured_in_seconds():
    assert retry_delays({"EVENT_RETRY_DELAYS": "0.5,2,10"}) == (0.5, 2.0, 10.0)
    assert retry_delays({}) == (1, 2, 5, 15, 60)


def test_the_readme_permission_matrix_is_the_one_the_endpoints_declare():
    from tools.permissions_doc import README, table

    assert table() in README.read_text(), "regenerate with: python -m tools.permissions_doc --write"
