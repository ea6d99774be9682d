"""Systems that cannot speak AMQP get the events by HTTP POST: signed, retried with
backoff, posted once per event, and logged attempt by attempt."""

import hashlib
import hmac
import json
import threading

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from services.webhooks.service import WebhookBridge
from shared.auth import AUDITOR
from shared.catalogue import CATALOGUE
from shared.events import new_event
from tests.conftest import poll
from tests.integration.conftest import free_port
from tools.auth import bearer

FAST = {"WEBHOOK_SWEEP_SECONDS": 0.1, "WEBHOOK_RETRY_DELAYS": "0.2,0.4"}


class Receiver:
    """An outside system's endpoint: records what it is sent, answers from a script."""

    def __init__(self, answers=()):
        self.received, self.answers = [], list(answers)
        self.server = make_server("127.0.0.1", free_port(), self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    @Request.application
    def app(self, request):
        self.received.append((dict(request.headers), request.get_data()))
        return Response(status=self.answers.pop(0) if self.answers else 204)


@pytest.fixture
def receiver():
    made = []

    def make(answers=()):
        made.append(Receiver(answers))
        return made[-1]
    yield make
    for one in made:
        one.server.shutdown()


def raised(petition_id):
    return new_event(CATALOGUE, "petition.raised.v1", "petition", petition_id, {
        "petition_id": petition_id, "grid_id": "g01", "community_id": "c-hexi",
        "category": "drains", "description": "Blocked", "location": {
            "lat": 30.27, "lng": 120.15, "address": None}, "channel": "kiosk",
        "attributes": {}, "attachments": [], "duplicate_candidates": [], "proposal_id": None},
        "corr")


def task_opened(task_id):
    return new_event(CATALOGUE, "task.opened.v1", "volunteer", task_id, {
        "task_id": task_id, "petition_id": "P-1", "round": 1, "team_id": "t", "grid_id": "g01",
        "category": "drains", "places": 1, "urgent": False, "due_by": "2026-12-01T00:00:00+00:00"},
        "corr")


def subscribe(api, url, *patterns):
    answer = api.post("/subscriptions", json={"url": url, "event_types": list(patterns)})
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_subscriber_gets_the_events_it_asked_for_signed_with_its_secret(
        serve, broker, receiver):
    api, hook = serve(WebhookBridge, **FAST), receiver()
    subscription = subscribe(api, hook.url, "petition.*.v1")
    broker.publish_event(task_opened("T-P-1-1"))
    broker.publish_event(raised("P-1"))
    poll(lambda: hook.received, what="the POST")
    headers, body = hook.received[0]
    assert json.loads(body)["type"] == "petition.raised.v1"
    timestamp, given = headers["X-Webhook-Signature"].removeprefix("t=").split(",v1=")
    expected = hmac.new(subscription["secret"].encode(), f"{timestamp}.".encode() + body,
                        hashlib.sha256).hexdigest()
    assert hmac.compare_digest(given, expected)
    log = poll(lambda: api.get(f"/subscriptions/{subscription['id']}/deliveries").json()
               ["deliveries"], what="the log")
    assert [d["event_type"] for d in log] == ["petition.raised.v1"]


def test_a_failing_endpoint_is_tried_again_and_every_attempt_is_logged(serve, broker, receiver):
    api, hook = serve(WebhookBridge, **FAST), receiver(answers=[500, 503])
    subscription = subscribe(api, hook.url, "petition.#")
    broker.publish_event(raised("P-2"))

    def delivered():
        log = api.get(f"/subscriptions/{subscription['id']}/deliveries").json()["deliveries"]
        return log if log and log[0]["state"] == "delivered" else None

    [delivery] = poll(delivered, what="the delivery after two failures")
    assert [a["status"] for a in delivery["attempts"]] == [500, 503, 204]
    assert len(hook.received) == 3


def test_an_endpoint_that_keeps_failing_is_given_up_after_the_last_delay(
        serve, broker, receiver):
    api, hook = serve(WebhookBridge, **FAST), receiver(answers=[500] * 10)
    subscription = subscribe(api, hook.url, "#")
    broker.publish_event(raised("P-3"))

    def failed():
        log = api.get(f"/subscriptions/{subscription['id']}/deliveries").json()["deliveries"]
        return log if log and log[0]["state"] == "failed" else None

    [delivery] = poll(failed, what="the delivery given up")
    assert len(delivery["attempts"]) == 3  # the first try and one per delay


def test_an_event_the_broker_delivers_twice_is_posted_once(serve, broker, receiver):
    api, hook = serve(WebhookBridge, **FAST), receiver()
    subscribe(api, hook.url, "petition.raised.v1")
    event = raised("P-4")
    broker.publish_event(event)
    broker.publish_event(event)
    broker.publish_event(raised("P-5"))
    poll(lambda: len(hook.received) == 2, what="both petitions posted")
    ids = [json.loads(body)["id"] for _, body in hook.received]
    assert sorted(ids) == sorted([event["id"], json.loads(hook.received[-1][1])["id"]])
    assert ids.count(event["id"]) == 1


def test_only_an_administrator_subscribes_and_nobody_reads_a_secret_back(serve, receiver):
    api = serve(WebhookBridge, **FAST)
    refused = api.post("/subscriptions", headers=bearer(AUDITOR),
                       json={"url": receiver().url, "event_types": ["#"]})
    assert refused.status_code == 403
    made = subscribe(api, receiver().url, "funds.#")
    assert "secret" not in api.get(f"/subscriptions/{made['id']}").text


def test_a_pattern_that_matches_no_event_type_is_refused(serve):
    api = serve(WebhookBridge, **FAST)
    answer = api.post("/subscriptions", json={"url": "https://example.org/hook",
                                              "event_types": ["petitions.#"]})
    assert answer.status_code == 422 and "event_types" in answer.json()["error"]["fields"]
