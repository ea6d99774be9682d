"""What every service exposes for operations: liveness, readiness, metrics, its
OpenAPI document, and its audit trail."""

from functools import cache

from marshmallow import Schema, fields, validate
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.wrappers import Response

from shared import asyncapi, openapi
from shared.audit import FIELDS, AuditLog
from shared.auth import AUDITOR, MONITORING, PUBLIC, Caller
from shared.catalogue import CATALOGUE
from shared.errors import NotFound
from shared.exports import csv_response, csv_text
from shared.http import http, json_response
from shared.observability import RequestContext
from shared.schemas import Moment, Query
from shared.storage import Storage


class Liveness(Schema):
    status = fields.String(required=True)


class Readiness(Schema):
    ready = fields.Boolean(required=True)
    checks = fields.Dict(keys=fields.String(), values=fields.Boolean(), required=True)


class AuditQuery(Query):
    actor = fields.String(metadata={"description": "Only this user or service account."})
    since = Moment()
    until = Moment()
    limit = fields.Integer(load_default=500, validate=validate.Range(1, 10_000))


class AuditEntry(Schema):
    at = fields.String(required=True)
    actor = fields.String(required=True)
    role = fields.String(required=True)
    kind = fields.String(required=True)
    method = fields.String(required=True)
    path = fields.String(required=True)
    status = fields.Integer(required=True)
    client = fields.String(allow_none=True)
    forwarded_for = fields.String(allow_none=True)
    correlation_id = fields.String(required=True)


class AuditTrail(Schema):
    entries = fields.List(fields.Nested(AuditEntry), required=True)


class PlatformService:
    """Base of the services. Subclasses define ``store``, and ``relay`` if they publish."""

    relay = None

    correlation_id = RequestContext()
    caller = Caller()
    audit_log = Storage(AuditLog)

    @http("GET", "/healthz", allow=PUBLIC, returns=Liveness)
    def healthz(self, request):
        """Alive: the process answers (the liveness probe)."""
        return json_response({"status": "alive"})

    @http("GET", "/readyz", allow=PUBLIC, returns=Readiness,
          also={503: "Not ready: the broker or the database cannot be reached."})
    def readyz(self, request):
        """Ready: the broker and the database answer (the readiness probe)."""
        checks = {"broker": self.relay.ready()} if self.relay else {}
        try:
            self.store.ping()
            checks["database"] = True
        except Exception:  # noqa: BLE001 - any failure means not ready
            checks["database"] = False
        ready = all(checks.values())
        return json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)

    @http("GET", "/metrics", allow=(MONITORING, AUDITOR), media_type="text/plain")
    def metrics(self, request):
        """Prometheus metrics, in the text exposition format."""
        return Response(generate_latest(), content_type=CONTENT_TYPE_LATEST)

    @http("GET", "/openapi.json", allow=PUBLIC)
    def openapi(self, request):
        """This OpenAPI document, written from the schemas the endpoints validate with."""
        return json_response(_document(type(self)))

    @http("GET", "/asyncapi.json", allow=PUBLIC)
    def asyncapi(self, request):
        """The AsyncAPI 3.0 document of every event the platform publishes."""
        return json_response(asyncapi.document())

    @http("GET", "/events/<event_type>.schema.json", allow=PUBLIC)
    def event_schema(self, request, event_type):
        """The JSON Schema of one event type's messages."""
        if event_type not in CATALOGUE.by_type:
            raise NotFound(f"No event type {event_type!r}; GET /asyncapi.json lists them.")
        return json_response(asyncapi.event_schema(CATALOGUE.by_type[event_type]))

    @http("GET", "/audit", allow=(AUDITOR,), query=AuditQuery, returns=AuditTrail)
    def audit(self, request, query):
        """The audit trail: every change and every refusal, newest first."""
        return json_response({"entries": self.audit_log.entries(query)})

    @http("GET", "/audit/export.csv", allow=(AUDITOR,), query=AuditQuery,
          media_type="text/csv")
    def export_audit(self, request, query):
        """The audit trail as CSV, safe to open in a spreadsheet."""
        return csv_response(csv_text(FIELDS, self.audit_log.entries(query)), "audit.csv")


@cache
def _document(service_cls):
    return openapi.document(service_cls)
