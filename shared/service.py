"""What every service exposes for operations: liveness, readiness and metrics."""

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.wrappers import Response

from shared.http import http, json_response
from shared.observability import RequestContext


class PlatformService:
    """Base of the four services. Subclasses define ``store`` and ``relay``."""

    correlation_id = RequestContext()

    @http("GET", "/healthz")
    def healthz(self, request):
        return json_response({"status": "alive"})

    @http("GET", "/readyz")
    def readyz(self, request):
        checks = {"broker": self.relay.ready()}
        try:
            self.store.ping()
            checks["database"] = True
        except Exception:  # noqa: BLE001 - any failure means not ready
            checks["database"] = False
        ready = all(checks.values())
        return json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)

    @http("GET", "/metrics")
    def metrics(self, request):
        return Response(generate_latest(), content_type=CONTENT_TYPE_LATEST)
