"""Open311 GeoReport v2: the spec's names, statuses and error format, mapped onto ours."""

import pytest
from werkzeug.datastructures import MultiDict

from services.petition import open311
from services.petition.categories import DEFAULT_CATEGORIES, check_attributes
from shared.errors import InvalidFields, NotFound

DRAINS = DEFAULT_CATEGORIES[0]
SANITATION = next(c for c in DEFAULT_CATEGORIES if c["_id"] == "sanitation")


def nowhere(address_id):
    return None


def form(**fields):
    base = {"service_code": "drains", "lat": "30.2741", "long": "120.1551",
            "description": "Overflowing drain", "attribute[severity]": "overflowing"}
    return MultiDict({**base, **fields})


def test_a_category_is_a_service_with_typed_attributes():
    service = open311.service(DRAINS)
    assert service == {"service_code": "drains", "service_name": DRAINS["name"],
                       "description": DRAINS["description"], "metadata": True,
                       "type": "realtime", "keywords": "drain,sewer,flood", "group": "Public works"}
    attribute = open311.service_definition(DRAINS)["attributes"][0]
    assert set(attribute) == {"variable", "code", "datatype", "required", "datatype_description",
                              "order", "description", "values"}
    assert attribute["values"][0] == {"key": "blocked", "name": "Blocked"}


def test_every_spec_datatype_is_offered():
    datatypes = {a["datatype"] for c in DEFAULT_CATEGORIES for a in c["attributes"]}
    assert datatypes == {"string", "number", "datetime", "text", "singlevaluelist",
                         "multivaluelist"}


def test_a_post_form_becomes_a_native_petition_with_attributes_and_reporter():
    request = open311.petition_request(form(first_name="Fang", last_name="Wang",
                                            phone="13800001234", media_url="https://x.cn/1.jpg",
                                            address_string="Building 3"), nowhere)
    assert request["category"] == "drains" and request["attributes"] == {"severity": "overflowing"}
    assert request["location"] == {"lat": 30.2741, "lng": 120.1551, "address": "Building 3"}
    assert request["reporter"] == {"name": "Fang Wang", "phone": "13800001234", "email": None,
                                   "anonymous": False}
    assert request["attachments"] == [{"url": "https://x.cn/1.jpg", "kind": "photo"}]


def test_a_nameless_request_is_anonymous_and_multivalue_attributes_are_lists():
    values = form(service_code="sanitation")
    values.setlist("attribute[waste_type][]", ["household", "bulky"])
    request = open311.petition_request(values, nowhere)
    assert request["reporter"]["anonymous"] is True
    assert request["attributes"]["waste_type"] == ["household", "bulky"]
    assert check_attributes(SANITATION, {"waste_type": ["household", "bulky"]})


def test_an_address_id_names_a_grid_and_places_the_matter_inside_it():
    values = MultiDict({"service_code": "drains", "description": "x", "address_id": "g07"})
    request = open311.petition_request(values, {"g07": {"lat": 30.1, "lng": 120.2}}.get)
    assert request["grid_id"] == "g07"
    assert request["location"] == {"lat": 30.1, "lng": 120.2, "address": None}
    with pytest.raises(InvalidFields) as refused:
        open311.petition_request(MultiDict({**values, "address_id": "g99"}), nowhere)
    assert "address_id" in refused.value.fields


def test_a_request_without_a_point_is_refused_in_the_specs_error_format():
    with pytest.raises(InvalidFields) as refused:
        open311.petition_request(MultiDict({"service_code": "drains", "description": "x",
                                            "address_string": "Building 3"}), nowhere)
    status, body = open311.render_error(422, "invalid_fields", "m", refused.value.fields)
    assert status == 400
    assert {e["description"].split(":")[0] for e in body} == {"lat", "long"}
    assert all(e["code"] == 400 for e in body)


def test_native_field_names_are_given_their_open311_names_in_errors():
    _, body = open311.render_error(422, "invalid_fields", "m",
                                   {"category": ["No category 'ufo'"]})
    assert body == [{"code": 400, "description": "service_code: No category 'ufo'"}]


@pytest.mark.parametrize("state, status", [
    ("raised", "open"), ("accepted", "open"), ("dispatched", "open"), ("returned", "open"),
    ("reopened", "open"), ("in_progress", "open"), ("resolved", "closed"),
    ("verified", "closed"), ("closed", "closed"), ("rejected", "closed"), ("merged", "closed")])
def test_our_states_map_onto_open_and_closed(state, status):
    assert open311.status_of(state) == status


def test_a_request_shows_its_state_and_latest_step_in_status_notes():
    petition = {"_id": "P-1", "state": "dispatched", "category": "drains", "description": "d",
                "location": {"lat": 1.0, "lng": 2.0, "address": "A"}, "attachments": [],
                "raised_at": "2026-11-23T09:00:00.123456+00:00",
                "updated_at": "2026-11-23T09:05:00+00:00", "finish_by": "2026-11-26T09:05:00+00:00",
                "handler": {"name": "Drains team"}, "grid_id": "g01",
                "timeline": [{"summary": "Dispatched (派单) to Drains team"}]}
    request = open311.service_request(petition, "Blocked drain")
    assert request["status"] == "open" and request["agency_responsible"] == "Drains team"
    assert request["status_notes"] == "dispatched: Dispatched (派单) to Drains team"
    assert request["requested_datetime"] == "2026-11-23T09:00:00+00:00"
    assert request["expected_datetime"] == "2026-11-26T09:05:00+00:00"
    assert (request["lat"], request["long"]) == (1.0, 2.0)


def test_queries_default_to_the_last_90_days_and_ids_override_everything():
    from datetime import UTC, datetime
    at = datetime(2026, 11, 23, tzinfo=UTC)
    criteria = open311.query({"status": "open"}, at)
    assert criteria["start"] == "2026-08-25T00:00:00+00:00" and criteria["closed"] is False
    assert open311.query({"service_request_id": "P-1,P-2", "status": "closed"}, at) == {
        "ids": ["P-1", "P-2"]}
    both = open311.query({"status": "open,closed", "start_date": "2026-11-01T00:00:00Z"}, at)
    assert both["closed"] is None and both["start"] == "2026-11-01T00:00:00+00:00"
    with pytest.raises(InvalidFields):
        open311.query({"status": "pending", "end_date": "yesterday"}, at)


def test_another_jurisdiction_is_not_served():
    open311.check_jurisdiction({"jurisdiction_id": "demo-county"}, "demo-county")
    open311.check_jurisdiction({}, "demo-county")
    with pytest.raises(NotFound):
        open311.check_jurisdiction({"jurisdiction_id": "elsewhere"}, "demo-county")


def test_category_attributes_are_typed_and_unknown_ones_refused():
    assert check_attributes(DRAINS, {"severity": "smell", "since": "2026-11-20T08:00:00"}) == {
        "severity": "smell", "since": "2026-11-20T08:00:00"}
    with pytest.raises(InvalidFields) as refused:
        check_attributes(DRAINS, {"severity": "smell", "since": "last week", "colour": "red"})
    assert set(refused.value.fields["attributes"]) == {"since", "colour"}
