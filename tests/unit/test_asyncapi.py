"""Outside systems read the events from an AsyncAPI document and a JSON Schema per type,
written from the catalogue; a breaking change must come as a new version."""

import copy
import json

import jsonschema_rs

from shared.asyncapi import breaking_changes, document, event_schema
from shared.catalogue import CATALOGUE
from shared.events import new_event
from tools.asyncapi_doc import breaking, files


def test_the_committed_documents_are_the_ones_the_catalogue_generates():
    stale = [path.name for path, text in files().items()
             if not path.exists() or path.read_text() != text]
    assert not stale, f"regenerate with: python -m tools.asyncapi_doc --write ({stale})"
    assert breaking() == {}


def test_every_event_type_has_a_channel_on_its_producers_exchange():
    doc = document()
    assert doc["asyncapi"] == "3.0.0"
    for event_type in CATALOGUE:
        channel = doc["channels"][event_type.type.replace(".", "_")]
        assert channel["address"] == event_type.type
        assert channel["bindings"]["amqp"]["exchange"]["name"] == f"{event_type.producer}.events"


def test_an_event_as_published_matches_its_schema_and_a_wrong_one_does_not():
    event_type = CATALOGUE.by_type["petition.closed.v1"]
    event = new_event(CATALOGUE, "petition.closed.v1", "petition", "P-1", {
        "petition_id": "P-1", "outcome": "satisfied", "actor": "system"}, "corr")
    validator = jsonschema_rs.validator_for(event_schema(event_type))
    assert validator.is_valid(json.loads(json.dumps(event, default=str)))
    assert not validator.is_valid({**event, "type": "petition.raised.v1"})


def data_schema():
    return event_schema(CATALOGUE.by_type["petition.closed.v1"])["properties"]["data"]


def test_adding_an_optional_field_is_not_a_breaking_change():
    new = copy.deepcopy(data_schema())
    new["properties"]["note"] = {"type": "string"}
    assert breaking_changes(data_schema(), new) == []


def test_removing_retyping_or_requiring_a_field_is_a_breaking_change():
    removed, retyped, required = (copy.deepcopy(data_schema()) for _ in range(3))
    del removed["properties"]["outcome"]
    retyped["properties"]["actor"] = {"type": "integer"}
    required["required"].append("comment")
    assert breaking_changes(data_schema(), removed) == ["data.outcome: removed"]
    assert breaking_changes(data_schema(), retyped) == [
        "data.actor: type ['string'] became ['integer']"]
    assert breaking_changes(data_schema(), required) == ["data.comment: newly required"]
