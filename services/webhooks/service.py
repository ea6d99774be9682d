"""Webhook bridge: the platform's events, POSTed to systems that cannot speak AMQP.

    POST   /subscriptions                       subscribe a URL to event types (201, secret once)
    GET    /subscriptions, /subscriptions/<id>
    DELETE /subscriptions/<id>                  stop delivering to it
    GET    /subscriptions/<id>/deliveries       the delivery log: every attempt and its answer

It reads the events as any outside subscriber does, from its own queue bound to every
service's exchange, so it needs no place in the catalogue. How deliveries are keyed,
signed and retried is in domain.py.
"""

import json
import time

import requests
from kombu import Queue, binding
from nameko.dependency_providers import Config
from nameko.messaging import consume

from services.webhooks import domain
from services.webhooks.schemas import (
    Delivery,
    DeliveryLog,
    SubscriptionCreated,
    SubscriptionRequest,
    Subscriptions,
    SubscriptionView,
)
from services.webhooks.store import WebhookStore
from shared.auth import ADMIN_ONLY, AUDITOR
from shared.broker import event_exchange
from shared.catalogue import CATALOGUE
from shared.errors import NotFound
from shared.events import now
from shared.http import http, json_response
from shared.schemas import one
from shared.service import PlatformService
from shared.storage import Storage
from shared.timers import delays, every

EVENTS = Queue("sub-webhooks.events", durable=True, bindings=[
    binding(event_exchange(producer), routing_key="#")
    for producer in sorted({e.producer for e in CATALOGUE})])
TIMEOUT_SECONDS = 5


class WebhookBridge(PlatformService):
    name = "webhooks"

    store = Storage(WebhookStore)
    config = Config()

    @http("POST", "/subscriptions", allow=ADMIN_ONLY, body=SubscriptionRequest,
          returns=SubscriptionCreated, status=201)
    def subscribe(self, request, body):
        """Subscribe a URL to event types; the answer holds its signing secret, once."""
        subscription = domain.new_subscription(body, now())
        self.store.add_subscription(subscription)
        return json_response(one(SubscriptionCreated).dump(subscription), status=201)

    @http("GET", "/subscriptions", allow=(AUDITOR,), returns=Subscriptions)
    def list_subscriptions(self, request):
        """Every subscription, without its secret."""
        return json_response({"subscriptions": one(SubscriptionView, many=True).dump(
            self.store.subscriptions())})

    @http("GET", "/subscriptions/<subscription_id>", allow=(AUDITOR,), returns=SubscriptionView)
    def get_subscription(self, request, subscription_id):
        """A subscription, without its secret."""
        return json_response(one(SubscriptionView).dump(self._subscription(subscription_id)))

    @http("DELETE", "/subscriptions/<subscription_id>", allow=ADMIN_ONLY,
          returns=SubscriptionView)
    def unsubscribe(self, request, subscription_id):
        """Stop delivering to it; what was already due is still delivered."""
        self._subscription(subscription_id)
        self.store.deactivate(subscription_id)
        return json_response(one(SubscriptionView).dump(self._subscription(subscription_id)))

    @http("GET", "/subscriptions/<subscription_id>/deliveries", allow=(AUDITOR,),
          returns=DeliveryLog)
    def deliveries(self, request, subscription_id):
        """The delivery log: each event, its state, and every attempt with its answer."""
        self._subscription(subscription_id)
        return json_response({"subscription_id": subscription_id, "deliveries": (
            one(Delivery, many=True).dump(self.store.deliveries_of(subscription_id)))})

    @consume(EVENTS, requeue_on_error=True)
    def enqueue(self, event):
        """One delivery per subscription that wants the event (acked once stored)."""
        at = now()
        for subscription in self.store.wanting():
            if domain.wanted_by(subscription, event["type"]):
                self.store.add_delivery(domain.delivery(subscription, event, at))

    @every("WEBHOOK_SWEEP_SECONDS", 2)
    def deliver(self):
        """POST what is due; record each attempt and when to try again."""
        steps = delays(self.config.get("WEBHOOK_RETRY_DELAYS"), domain.RETRY_DELAYS)
        secrets = {s["_id"]: s for s in self.store.subscriptions(with_secrets=True)}
        for record in self.store.due(now()):
            subscription = secrets[record["subscription_id"]]
            outcome = _post(subscription, record["event"])
            self.store.record_attempt(record["_id"], len(record["attempts"]),
                                      domain.attempted(record, outcome, now(), steps))

    def _subscription(self, subscription_id):
        found = self.store.subscription(subscription_id)
        if found is None:
            raise NotFound(f"No subscription {subscription_id!r}; list them with "
                           "GET /subscriptions.")
        return found


def _post(subscription, event):
    body = json.dumps(event, ensure_ascii=False, sort_keys=True).encode()
    started = time.perf_counter()
    headers = {"Content-Type": "application/json", "X-Event-Id": event["id"],
               "X-Event-Type": event["type"],
               "X-Webhook-Signature": domain.signature(subscription["secret"], int(time.time()),
                                                       body)}
    try:
        answer = requests.post(subscription["url"], data=body, headers=headers,
                               timeout=TIMEOUT_SECONDS, allow_redirects=False)
        outcome = {"status": answer.status_code, "error": None}
    except requests.RequestException as exc:
        outcome = {"status": None, "error": type(exc).__name__}
    return {**outcome, "milliseconds": round((time.perf_counter() - started) * 1000)}

