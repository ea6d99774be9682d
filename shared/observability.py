"""JSON logs that carry the correlation id, and the platform's Prometheus metrics."""

import json
import logging
import uuid
from contextvars import ContextVar

from nameko.extensions import DependencyProvider
from prometheus_client import Counter, Histogram

correlation_id = ContextVar("correlation_id", default=None)

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests answered", ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "http_request_seconds", "Time to answer an HTTP request", ["method", "route"])
EVENTS_PUBLISHED = Counter(
    "events_published_total", "Events relayed from the outbox to the broker", ["type"])
EVENTS_HANDLED = Counter(
    "events_handled_total", "Events consumed, by outcome: handled, retried, dead_lettered",
    ["type", "handler", "outcome"])
EVENT_DELIVERY = Histogram(
    "event_delivery_seconds", "From an event's creation to its handler finishing: one hop",
    ["type", "handler"], buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60))
OUTBOX_FAILURES = Counter(
    "outbox_relay_failures_total", "Relay passes that failed (broker or database down)")


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the correlation id of the work being done."""

    def format(self, record):
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "correlation_id": correlation_id.get(),
        }
        for key in ("event_id", "event_type", "reason"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class ExpectedErrors(logging.Filter):
    """nameko logs every exception an entrypoint expects, a refusal its caller is told
    about (a task a person's app polls for that is not open yet, a command not allowed),
    as a warning with its traceback. It is an answer, not a fault, and the access log has
    its status: it is kept as one line at INFO, without the traceback, whose formatting
    cost more than the answer (5 % of the volunteer service's time in the bench's
    profile of 2026-12-04)."""

    def filter(self, record):
        if record.name == "nameko.containers" and str(record.msg).startswith("(expected)"):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info = record.exc_text = None
        return True


class RequestContext(DependencyProvider):
    """The correlation id of the current worker, for logs and for the events it causes.

    Work that arrives without one (a timer, an operator's shell) starts a new one.
    """

    def worker_setup(self, worker_ctx):
        worker_ctx.data.setdefault("correlation_id", uuid.uuid4().hex)
        correlation_id.set(worker_ctx.data["correlation_id"])

    def get_dependency(self, worker_ctx):
        return worker_ctx.data.get("correlation_id")
