"""A JSON body is typed as JSON is; a query string is text to be parsed."""

import pytest
from marshmallow import ValidationError

from services.funding.schemas import Allocation, StatementQuery
from services.grid.schemas import CalendarDefinition, ExtensionDecision
from services.volunteer.schemas import PointsRules

ALLOCATION = {"allocation_id": "a-1", "department_id": "civil-affairs",
              "budget_line": "community_services", "fiscal_year": 2026, "amount_fen": 100,
              "approved_by": "finance"}


def test_a_number_given_as_text_is_refused_in_a_body():
    with pytest.raises(ValidationError) as refused:
        Allocation().load({**ALLOCATION, "fiscal_year": "2026"})
    assert refused.value.messages == {"fiscal_year": ["Give a number, not text."]}


def test_a_number_is_not_a_boolean_in_a_body():
    with pytest.raises(ValidationError) as refused:
        ExtensionDecision().load({"actor": "centre", "approve": 1})
    assert refused.value.messages == {"approve": ["Give true or false."]}


def test_true_is_not_a_number_in_a_body():
    with pytest.raises(ValidationError) as refused:
        PointsRules().load({"per_hour": True, "urgent_bonus": 0})
    assert "per_hour" in refused.value.messages


def test_list_items_are_typed_too():
    with pytest.raises(ValidationError) as refused:
        CalendarDefinition().load({"weekend": [6, "7"]})
    assert refused.value.messages == {"weekend": {1: ["Give a number, not text."]}}


def test_a_query_string_is_parsed_from_text():
    assert StatementQuery().load({"fiscal_year": "2026"})["fiscal_year"] == 2026


def test_a_moment_given_in_beijing_time_is_kept_in_utc_as_the_stores_compare_text():
    loaded = StatementQuery().load({"from": "2026-11-24T00:00:00+08:00"})
    assert loaded["from"].isoformat() == "2026-11-23T16:00:00+00:00"
