"""The event envelope: CloudEvents 1.0 attributes plus correlation and causation.

An event travels as one JSON object (CloudEvents "structured mode")::

    {"specversion": "1.0", "id": "5f0c...", "source": "petition",
     "type": "petition.raised.v1", "subject": "P-3f9a1c2b7d10",
     "time": "2026-11-23T09:30:00.123456+00:00",
     "datacontenttype": "application/json",
     "correlationid": "c1d2...", "causationid": null,
     "data": {"petition_id": "P-3f9a1c2b7d10", ...}}

The version is the last part of ``type``: a breaking change to ``data``
publishes ``....v2`` beside ``v1``; additive changes keep the version, which is
why consumers load ``data`` as tolerant readers (unknown fields excluded).
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

from shared.schemas import one


class InvalidEvent(Exception):
    """An event that can never be handled: it is dead-lettered, not retried."""


class EnvelopeSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    specversion = fields.String(required=True, validate=validate.Equal("1.0"))
    id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    source = fields.String(required=True, validate=validate.Length(min=1, max=64))
    type = fields.String(required=True, validate=validate.Regexp(r"^[a-z_]+(\.[a-z_]+)+\.v\d+$"))
    subject = fields.String(load_default=None, allow_none=True)
    time = fields.AwareDateTime(required=True, format="iso")
    datacontenttype = fields.String(load_default="application/json")
    correlationid = fields.String(required=True)
    causationid = fields.String(load_default=None, allow_none=True)
    data = fields.Dict(required=True)


@dataclass(frozen=True)
class Event:
    id: str
    source: str
    type: str
    subject: str | None
    time: datetime
    correlationid: str
    causationid: str | None
    data: dict

    @property
    def key(self):
        """The CloudEvents identity pair (source, id): the idempotency key."""
        return f"{self.source}/{self.id}"


def now():
    return datetime.now(UTC)


def new_event(catalogue, type, source, subject, data, correlation_id, cause=None):
    """Build an event ready for an outbox; its data is checked against the catalogue.

    A producer that tries to emit data its own schema rejects has a bug, so the
    ValidationError propagates rather than an invalid event leaving the service.
    """
    schema = one(catalogue.schema_for(type), unknown=RAISE)
    payload = schema.dump(data)
    schema.load(payload)
    return {
        "specversion": "1.0",
        "id": uuid.uuid4().hex,
        "source": source,
        "type": type,
        "subject": subject,
        "time": now().isoformat(),
        "datacontenttype": "application/json",
        "correlationid": correlation_id,
        "causationid": cause.id if cause else None,
        "data": payload,
    }


def data_as_sent(catalogue, event):
    """An event's data as it travelled (times as ISO text): what a log of events keeps."""
    return one(catalogue.schema_for(event.type), unknown=RAISE).dump(event.data)


def load_event(catalogue, body, expected_type):
    """Validate an incoming envelope and its data; raise InvalidEvent with the reason."""
    if not isinstance(body, dict):
        raise InvalidEvent(f"body is {type(body).__name__}, not a JSON object")
    try:
        envelope = one(EnvelopeSchema, unknown=EXCLUDE).load(body)
    except ValidationError as exc:
        raise InvalidEvent(f"envelope: {exc.messages}") from None
    if envelope["type"] != expected_type:
        raise InvalidEvent(f"type {envelope['type']!r} arrived on the queue for {expected_type!r}")
    try:
        envelope["data"] = one(catalogue.schema_for(expected_type), unknown=EXCLUDE).load(
            envelope["data"])
    except ValidationError as exc:
        raise InvalidEvent(f"data: {exc.messages}") from None
    envelope.pop("specversion")
    envelope.pop("datacontenttype")
    return Event(**envelope)
