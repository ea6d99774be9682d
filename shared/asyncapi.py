"""The platform's events for other systems: an AsyncAPI 3.0 document and a JSON Schema
per event type, written from the catalogue's marshmallow schemas (one source of truth).

Versioning: an event type ends in its version (``petition.closed.v1``). A change that
only adds (a new optional field, a new event type) keeps the version, so readers must
ignore fields they do not know; the schemas therefore allow additional properties. A
change that breaks a reader (a field removed, renamed, retyped or newly required)
publishes the new version (``.v2``) beside the old for a deprecation period, and the
old one is only then retired. ``tools.asyncapi_doc --write`` refuses to overwrite a
committed schema with a breaking change, so a breaking change cannot ship unnoticed.
"""

from apispec.ext.marshmallow.openapi import OpenAPIConverter

from shared.catalogue import CATALOGUE
from shared.events import EnvelopeSchema

VERSION = "1.0.0"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
_converter = OpenAPIConverter(openapi_version="3.1.0", schema_name_resolver=lambda s: None,
                              spec=None)


def event_schema(event_type):
    """The JSON Schema of one event type's whole message (CloudEvents envelope + data)."""
    envelope = _open(_converter.schema2jsonschema(EnvelopeSchema()))
    envelope["properties"].update(
        type={"const": event_type.type}, source={"const": event_type.producer},
        data=_open(_converter.schema2jsonschema(event_type.schema())))
    return {"$schema": DRAFT, "$id": f"urn:grid-governance:event:{event_type.type}",
            "title": event_type.type, "description": event_type.description, **envelope}


def document(host="rabbitmq:5672"):
    channels, operations, messages, schemas = {}, {}, {}, {}
    for event_type in CATALOGUE:
        key = event_type.type.replace(".", "_")
        messages[key] = {"name": event_type.type, "title": event_type.type,
                         "summary": event_type.description, "contentType": "application/json",
                         "payload": {"$ref": f"#/components/schemas/{key}"}}
        schemas[key] = {k: v for k, v in event_schema(event_type).items()
                        if k not in ("$schema", "$id")}
        channels[key] = {
            "address": event_type.type, "title": event_type.type,
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
            "bindings": {"amqp": {"is": "routingKey", "bindingVersion": "0.3.0", "exchange": {
                "name": f"{event_type.producer}.events", "type": "topic", "durable": True,
                "autoDelete": False, "vhost": "/"}}}}
        operations[f"publish_{key}"] = {
            "action": "send", "title": f"{event_type.producer} publishes {event_type.type}",
            "channel": {"$ref": f"#/channels/{key}"},
            "messages": [{"$ref": f"#/channels/{key}/messages/{key}"}]}
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Grid governance platform events", "version": VERSION,
                 "description": __doc__.strip()},
        "defaultContentType": "application/json",
        "servers": {"rabbitmq": {"host": host, "protocol": "amqp", "protocolVersion": "0.9.1",
                                 "description": "Each outside system gets its own user and "
                                                "queues named sub-<name>.* (tools.bus)."}},
        "channels": channels, "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def breaking_changes(old, new, path="data"):
    """What in ``new`` would break a reader written against ``old`` (both JSON Schemas)."""
    found = []
    old_types, new_types = _types(old), _types(new)
    if old_types and new_types and not old_types <= new_types:
        found.append(f"{path}: type {sorted(old_types)} became {sorted(new_types)}")
    for name in set(new.get("required", ())) - set(old.get("required", ())):
        found.append(f"{path}.{name}: newly required")
    for name, schema in old.get("properties", {}).items():
        if name not in new.get("properties", {}):
            found.append(f"{path}.{name}: removed")
        else:
            found += breaking_changes(schema, new["properties"][name], f"{path}.{name}")
    if "enum" in old and "enum" in new and not set(old["enum"]) <= set(new["enum"]):
        found.append(f"{path}: values {sorted(set(old['enum']) - set(new['enum']))} removed")
    return found


def _types(schema):
    kind = schema.get("type")
    return set(kind) if isinstance(kind, list) else {kind} if kind else set()


def _open(schema):
    """Readers ignore what they do not know: additions are not breaking."""
    schema = {k: v for k, v in schema.items() if k != "additionalProperties"}
    if "properties" in schema:
        schema["properties"] = {k: _open(v) for k, v in schema["properties"].items()}
    if isinstance(schema.get("items"), dict):
        schema["items"] = _open(schema["items"])
    return schema
