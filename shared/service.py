"""What every service exposes for operations: liveness, readiness, metrics, and its
OpenAPI document."""

from functools import cache

from marshmallow import Schema, fields
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.wrappers import Response

from shared import openapi
from shared.http import http, json_response
from shared.observability import RequestContext


class Liveness(Schema):
    status = fields.String(required=True)


class Readiness(Schema):
    ready = fields.Boolean(required=True)
    checks = fields.Dict(keys=fields.String(), values=fields.Boolean(), required=True)


class PlatformService:
    """Base of the four services. Subclasses define ``store`` and ``relay``."""

    correlation_id = RequestContext()

    @http("GET", "/healthz", returns=Liveness)
    def healthz(self, request):
        """Alive: the process answers (the liveness probe)."""
        return json_response({"status": "alive"})

    @http("GET", "/readyz", returns=Readiness,
          also={503: "Not ready: the broker or the database cannot be reached."})
    def readyz(self, request):
        """Ready: the broker and the database answer (the readiness probe)."""
        checks = {"broker": self.relay.ready()}
        try:
            self.store.ping()
            checks["database"] = True
        except Exception:  # noqa: BLE001 - any failure means not ready
            checks["database"] = False
        ready = all(checks.values())
        return json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)

    @http("GET", "/metrics", media_type="text/plain")
    def metrics(self, request):
        """Prometheus metrics, in the text exposition format."""
        return Response(generate_latest(), content_type=CONTENT_TYPE_LATEST)

    @http("GET", "/openapi.json")
    def openapi(self, request):
        """This OpenAPI document, written from the schemas the endpoints validate with."""
        return json_response(_document(type(self)))


@cache
def _document(service_cls):
    return openapi.document(service_cls)
