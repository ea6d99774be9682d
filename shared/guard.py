"""What every HTTP endpoint of a service shares: the keys that check tokens, the rate
limits, and the audit trail. One per service process (a nameko SharedExtension)."""

import logging
import math
import time
from datetime import UTC, datetime

from nameko.exceptions import ConfigurationError
from nameko.extensions import SharedExtension
from werkzeug.middleware.proxy_fix import ProxyFix

from shared import auth
from shared.audit import AuditLog
from shared.errors import TooManyRequests
from shared.storage import database

log = logging.getLogger(__name__)

# limit -> the roles it holds back -> (configuration key, requests a minute by default).
# Staff are not limited: they enter what they are told, and the audit trail names them.
LIMITS = {"intake": {auth.RESIDENT: ("INTAKE_PER_MINUTE", 10),
                     auth.INTAKE: ("INTAKE_PER_MINUTE_SERVICE", 600)},
          "login": {auth.PUBLIC: ("LOGIN_PER_MINUTE", 20)},
          "public": {auth.PUBLIC: ("PUBLIC_READS_PER_MINUTE", 60)}}


class RateLimits:
    """Token buckets per limit and client, in this process: with N replicas behind a
    load balancer a client gets up to N times the rate, which still bounds a flood."""

    def __init__(self, config, clock=time.monotonic):
        self.config, self.clock = config, clock
        self.buckets = {}

    def take(self, name, caller, address):
        if caller.role not in LIMITS[name]:
            return
        key, default = LIMITS[name][caller.role]
        per_minute = float(self.config.get(key) or default)
        client = caller.sub if caller is not auth.ANONYMOUS else f"address:{address}"
        now = self.clock()
        tokens, then = self.buckets.get((name, client), (per_minute, now))
        tokens = min(per_minute, tokens + (now - then) * per_minute / 60)
        if tokens < 1:
            wait = math.ceil((1 - tokens) * 60 / per_minute)
            raise TooManyRequests(f"Too many requests: at most {per_minute:g} a minute from "
                                  f"one client; try again in {wait} s.", wait)
        self.buckets[(name, client)] = (tokens - 1, now)


class Guard(SharedExtension):
    def setup(self):
        try:
            self.keyring = auth.Keyring.from_config(self.container.config)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        self.limits = RateLimits(self.container.config)
        # Behind an ingress, the client is in X-Forwarded-For and the scheme in
        # X-Forwarded-Proto; trust exactly as many hops as there are proxies, no more.
        hops = int(self.container.config.get("TRUSTED_PROXY_HOPS") or 0)
        self.behind_proxies = ProxyFix(lambda environ, start_response: None, x_for=hops,
                                       x_proto=hops, x_host=hops) if hops else None
        # Only inserts here: the service's audit_log dependency owns the indexes.
        self.log = AuditLog(database(self.container))

    def see_through_proxies(self, request):
        if self.behind_proxies:
            self.behind_proxies(request.environ, None)
            # werkzeug read these from the environment when it made the request
            request.remote_addr = request.environ.get("REMOTE_ADDR")
            request.scheme = request.environ.get("wsgi.url_scheme", request.scheme)

    def audit(self, request, method, caller, status, correlation_id):
        """Changes, and refusals; reads that were allowed are not worth an entry."""
        if method in ("GET", "HEAD") and status not in (401, 403):
            return
        caller = caller or auth.ANONYMOUS
        entry = {"at": datetime.now(UTC).isoformat(), "actor": caller.sub, "role": caller.role,
                 "kind": caller.kind, "method": method, "path": request.path,
                 "status": status, "client": request.remote_addr,
                 "forwarded_for": request.headers.get("X-Forwarded-For"),
                 "correlation_id": correlation_id}
        try:
            self.log.record(entry)
        except Exception:  # noqa: BLE001 - the answer stands; the loss is logged loudly
            log.error("could not write the audit entry %s", entry, exc_info=True)
