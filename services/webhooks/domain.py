"""Webhooks: events delivered by HTTP POST to systems that cannot speak AMQP.

A subscription names a URL and the event types it wants (patterns as in AMQP topics:
``petition.*.v1``, ``funds.#``). Each matching event becomes one delivery, keyed by
subscription and event, so an event the broker redelivers is posted once. A delivery
is POSTed with the CloudEvents envelope as its body and signed with the
subscription's secret::

    X-Webhook-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">

(the scheme of Stripe and GitHub: the receiver recomputes it, and refuses old ``t`` to
stop replays). A 2xx answer delivers it; anything else is tried again after a growing
delay, and given up after the last one. Every attempt is logged.
"""

import hashlib
import hmac
import secrets
import uuid
from datetime import timedelta

RETRY_DELAYS = (10, 60, 300, 1800, 7200, 21600)  # seconds: up to about 8 hours in all


def new_subscription(subscription, now):
    return {"_id": f"WH-{uuid.uuid4().hex[:12]}", **subscription, "active": True,
            "secret": secrets.token_urlsafe(32), "created_at": now.isoformat()}


def matches(pattern, event_type):
    """AMQP topic matching: ``*`` is one word, ``#`` any number of words."""
    return _match(pattern.split("."), event_type.split("."))


def _match(pattern, words):
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, words[i:]) for i in range(len(words) + 1))
    return bool(words) and head in ("*", words[0]) and _match(rest, words[1:])


def wanted_by(subscription, event_type):
    return subscription["active"] and any(matches(p, event_type)
                                          for p in subscription["event_types"])


def delivery(subscription, event, now):
    return {"_id": f"{subscription['_id']}/{event['id']}", "subscription_id": subscription["_id"],
            "event_id": event["id"], "event_type": event["type"], "event": event,
            "state": "pending", "attempts": [], "next_at": now.isoformat()}


def signature(secret, timestamp, body):
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def attempted(record, outcome, now, delays=RETRY_DELAYS):
    """The delivery after an attempt: delivered on a 2xx, else due again after the next
    delay, or failed when the delays are used up."""
    attempts = [*record["attempts"], {"at": now.isoformat(), **outcome}]
    status = outcome.get("status")
    if status is not None and 200 <= status < 300:
        return {"state": "delivered", "attempts": attempts, "next_at": None}
    if len(attempts) > len(delays):
        return {"state": "failed", "attempts": attempts, "next_at": None}
    return {"state": "pending", "attempts": attempts,
            "next_at": (now + timedelta(seconds=delays[len(attempts) - 1])).isoformat()}
