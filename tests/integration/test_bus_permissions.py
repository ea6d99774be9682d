"""Least-privilege users on the real broker: the four services, each a process with its
own user made by ``python -m tools.bus``, carry a petition through; each user, and an
outside subscriber's, is refused what it has no business doing.

One fresh virtual host for the module. RabbitMQ users are not per virtual host, so
the services' users carry the host's name as a prefix, and all are deleted after.
"""

import json
import os
import re
import secrets
import subprocess
import sys
import threading
from pathlib import Path

import amqp
import pytest
from amqp.exceptions import AccessRefused
from kombu import Connection, Exchange, Queue

from shared.broker import DEAD_LETTERS, Broker, queue_name, retry_queue
from shared.catalogue import CATALOGUE
from tests.conftest import drop_databases, new_database_prefix, new_vhost, poll
from tests.integration.conftest import FAST_RETRIES, Api, free_port
from tools import demo_city, infra
from tools.platform import SERVICES, Platform

ROOT = Path(__file__).resolve().parents[2]
SUBSCRIBER = "audit-" + secrets.token_hex(3)
DRAIN = {"category": "drains", "attributes": {"severity": "overflowing"},
         "description": "The drain outside building 3 overflows when it rains.",
         "channel": "kiosk", "reporter": {"name": "Wang Fang", "phone": "13800000000"}}
# A grid handler's queue for an event petition publishes (petition declares it, so may
# configure it), and one for an event petition has nothing to do with.
GRID_DISPATCH = queue_name("petition", "petition.accepted.v1", "grid", "dispatch")
GRID_TRACK_TEAM = queue_name("volunteer", "team.registered.v1", "grid", "track_team")
PETITION_FOLLOW = queue_name("grid", "petition.dispatched.v1", "petition", "follow")


def bus(*args):
    """Run ``python -m tools.bus`` as an operator would; the URIs it printed, by name."""
    done = subprocess.run([sys.executable, "-m", "tools.bus", *args], cwd=ROOT, check=True,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return dict(re.findall(r"^(\S+): (amqp://\S+)$", done.stdout, re.MULTILINE))


@pytest.fixture(scope="module")
def vhost(infrastructure):
    """A fresh virtual host, and the administrator's URI for it."""
    name, admin_uri = new_vhost(infrastructure)
    yield name, admin_uri
    infra.delete_vhost(name)


@pytest.fixture(scope="module")
def uris(vhost):
    """Each service's AMQP URI, and the subscriber's under its user name."""
    name, _ = vhost
    try:
        yield (bus("users", "--vhost", name, "--user-prefix", f"{name}-")
               | bus("add-subscriber", SUBSCRIBER, "--vhost", name))
    finally:
        for user in [f"{name}-{service}" for service in SERVICES] + [f"sub-{SUBSCRIBER}"]:
            subprocess.run(["rabbitmqctl", "-q", "delete_user", user], check=False)


@pytest.fixture(scope="module")
def topology(vhost):
    """Every catalogued exchange and queue, declared by the administrator as the services
    would: what the refusals are tried on, with no service running."""
    _, admin_uri = vhost
    broker = Broker(admin_uri)
    broker.declare_consumers(CATALOGUE, list(CATALOGUE))
    broker.declare(retry_queue(PETITION_FOLLOW, 0))
    broker.reset()


@pytest.fixture(scope="module")
def platform(infrastructure, mongo_client, uris, tmp_path_factory):
    prefix = new_database_prefix()
    shared = {**infrastructure, "DATABASE_PREFIX": prefix, "EVENT_RETRY_DELAYS": FAST_RETRIES,
              "PETITION_DUPLICATE_RADIUS_M": "5"}
    running = Platform(shared, {service: free_port() for service in SERVICES},
                       tmp_path_factory.mktemp("logs"),
                       service_env={service: {"AMQP_URI": uris[service]} for service in SERVICES})
    try:
        running.start_all()
        demo_city.seed({service: running.url(service) for service in SERVICES})
        yield running
    finally:
        running.stop_all()
        drop_databases(mongo_client, prefix)


def api(platform, service):
    return Api(platform.url(service))


def raise_petition(platform, east):
    spot = demo_city.point_in(1, east, 0.5)
    response = api(platform, "petition").post(
        "/petitions", json={**DRAIN, "location": {**spot, "address": "Building 3, Hexi"}})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def refusal(uri, action):
    """What the broker answers when the user of ``uri`` tries ``action(channel)``. Publishing
    waits for the broker's confirm, so a refused publish fails here, not later."""
    with Connection(uri, transport_options={"confirm_publish": True}) as connection:
        with pytest.raises(AccessRefused) as refused:
            action(connection.channel())
    return str(refused.value)


def publish(exchange, routing_key="bus-test.v1"):
    return lambda channel: channel.basic_publish(amqp.Message(b"{}"), exchange=exchange,
                                                 routing_key=routing_key)


def consume(queue):
    return lambda channel: channel.basic_get(queue)


def test_the_services_each_with_its_own_user_carry_a_petition_to_an_open_task(platform):
    petition_id = raise_petition(platform, 0.1)

    # petition -> grid (dispatch) -> volunteer (task) and funding (hold) -> petition (follow)
    def timeline():
        steps = api(platform, "petition").get(f"/petitions/{petition_id}/timeline").json()
        return {step["type"] for step in steps["timeline"]}

    poll(lambda: {"petition.dispatched.v1", "task.opened.v1", "funds.held.v1"} <= timeline(),
         timeout=60, what="the petition dispatched, its task opened and its funds held")
    task = api(platform, "volunteer").get(f"/tasks/T-{petition_id}-1").json()
    assert task["status"] == "open" and task["team_id"] == "team-drain-repair"
    logs = "".join(path.read_text() for path in platform.log_dir.glob("*.log"))
    assert "ACCESS_REFUSED" not in logs


def test_a_service_dead_letters_what_it_cannot_handle_with_its_own_user(platform, vhost):
    _, admin_uri = vhost
    message_id = secrets.token_hex(8)
    with Connection(admin_uri, transport_options={"confirm_publish": True}) as admin:
        channel = admin.channel()
        channel.basic_publish(amqp.Message(b"{}", content_type="application/json",
                                           message_id=message_id),
                              exchange="petition.events", routing_key="petition.accepted.v1")

        def parked():
            message = channel.basic_get(DEAD_LETTERS, no_ack=True)
            return message if message and message.properties.get("message_id") == message_id else None

        letter = poll(parked, what="grid to dead-letter the invalid event")
    assert letter.headers["x-queue"] == GRID_DISPATCH


def test_a_service_user_may_publish_only_to_its_own_exchange(topology, uris):
    assert "access to exchange 'grid.events'" in refusal(uris["petition"], publish("grid.events"))
    assert "access to exchange 'amq.topic'" in refusal(uris["petition"], publish("amq.topic"))
    with Connection(uris["petition"], transport_options={"confirm_publish": True}) as connection:
        publish("petition.events")(connection.channel())


def test_a_service_user_cannot_consume_another_services_handler_queue(topology, uris):
    for queue in (GRID_DISPATCH, GRID_TRACK_TEAM, DEAD_LETTERS):
        assert f"access to queue '{queue}'" in refusal(uris["petition"], consume(queue))
    with Connection(uris["petition"]) as connection:
        assert connection.channel().basic_get(retry_queue(PETITION_FOLLOW, 0).name) is None


def test_a_subscriber_receives_events_on_its_own_queue(platform, uris):
    petitions = Exchange("petition.events", type="topic", passive=True)
    queue = Queue(f"sub-{SUBSCRIBER}.petitions", exchange=petitions, routing_key="petition.#",
                  durable=True)
    with Connection(uris[f"sub-{SUBSCRIBER}"]) as connection:
        bound = queue.bind(connection.channel())
        bound.declare()
        petition_id = raise_petition(platform, 0.3)
        seen = []

        def raised():
            message = bound.get(no_ack=True)
            if message is not None:
                seen.append(json.loads(message.body))
            return [e for e in seen if e["type"] == "petition.raised.v1"
                    and e["data"]["petition_id"] == petition_id]

        poll(raised, what="the subscriber to receive petition.raised.v1")


def test_a_subscriber_cannot_publish_anywhere(topology, uris):
    subscriber = uris[f"sub-{SUBSCRIBER}"]
    assert "access to exchange 'petition.events'" in refusal(subscriber, publish("petition.events"))
    assert "access to exchange 'amq.default'" in refusal(subscriber, publish("", DEAD_LETTERS))


def test_a_subscriber_cannot_consume_or_declare_the_platforms_queues(topology, uris):
    subscriber = uris[f"sub-{SUBSCRIBER}"]
    assert f"access to queue '{GRID_DISPATCH}'" in refusal(subscriber, consume(GRID_DISPATCH))
    assert f"access to queue '{DEAD_LETTERS}'" in refusal(subscriber, consume(DEAD_LETTERS))
    assert "access to queue 'sub-other.x'" in refusal(
        subscriber, lambda channel: channel.queue_declare("sub-other.x", durable=True))


def test_the_example_subscriber_prints_the_events_it_bound_to(platform, uris):
    """examples/subscriber.py, run as an outside system would: its own process, a plain
    AMQP client, the subscriber's credentials, no project code."""
    lines = []
    example = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "subscriber.py"), SUBSCRIBER, "petition.#"],
        env={"PATH": os.environ["PATH"], "AMQP_URI": uris[f"sub-{SUBSCRIBER}"]},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    reader = threading.Thread(target=lambda: lines.extend(iter(example.stdout.readline, "")),
                              daemon=True)
    reader.start()
    try:
        poll(lambda: any("listening" in line for line in lines), what="the example to bind")
        petition_id = raise_petition(platform, 0.7)
        poll(lambda: any("petition.raised.v1" in line and petition_id in line for line in lines),
             what="the example to print the petition's event")
        assert not any("task.opened" in line for line in lines)  # not bound to volunteer.#
    finally:
        example.terminate()
        example.wait(timeout=10)
