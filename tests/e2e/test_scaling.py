"""Two instances of each service share the work, and never process a message twice.

On a platform of its own (ports 18701-18704, and 18801-18804 for the second instances;
its own virtual host and databases), two processes of each domain service compete for
the same queues, as two Kubernetes replicas would. Petitions go through the whole flow
(raised, dispatched, task opened, claimed, completed, verified, paid for, closed) with
each HTTP call sent to one instance or the other, as a Kubernetes Service spreads them.
Then each service's own database must hold exactly one of everything per petition, the
ledgers must balance, and each instance's /metrics must show it handled events.
"""

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import platform_of_its_own, poll
from tools import demo_city
from tools.auth import bearer
from tools.platform import SERVICES

SCALING_PORTS = {"grid": 18701, "petition": 18702, "volunteer": 18703, "funding": 18704}
PETITIONS = 20
VOLUNTEERS = [f"team-drain-repair-{n}" for n in range(1, 7)]
# One event per petition of each step, from the service that publishes it.
ONE_EACH = {"grid": ["petition.dispatched.v1"], "volunteer": ["task.opened.v1", "task.completed.v1"],
            "funding": ["funds.settled.v1"], "petition": ["petition.raised.v1", "petition.closed.v1"]}
OUTBOXES = {"petition": "petitions", "grid": "dispatches", "volunteer": "tasks",
            "funding": "transactions"}


class Flow:
    """Residents, volunteers and grid leaders; call ``k`` of petition ``n`` goes to
    instance 1 or 2 by turns, so each instance answers every kind of call."""

    def __init__(self, platform):
        self.platform = platform

    def call(self, n, k, method, service, path, **body):
        url = self.platform.url(service, instance=1 + (n + k) % 2)
        answer = requests.request(method, url + path, json=body or None, timeout=30,
                                  headers=bearer())
        assert answer.ok, f"{method} {url}{path}: {answer.status_code} {answer.text}"
        return answer.json()

    def petition(self, n):
        grid = n % 45 + 1
        spot = demo_city.point_in(grid, 0.05 + n // 45 % 10 / 10, 0.05 + n // 450 % 10 / 10)
        petition_id = self.call(n, 0, "POST", "petition", "/petitions", category="drains",
                                attributes={"severity": "blocked"}, description=f"Drain {n}",
                                location=spot, reporter={"anonymous": True})["id"]
        task = f"/tasks/T-{petition_id}-1"
        poll(lambda: requests.get(self.platform.url("volunteer", 1 + n % 2) + task, timeout=30,
                                  headers=bearer()).ok, timeout=300, interval=0.25,
             what=f"the task of {petition_id}")
        volunteer = VOLUNTEERS[n % len(VOLUNTEERS)]
        self.call(n, 1, "POST", "volunteer", f"{task}/claim", volunteer_id=volunteer)
        self.call(n, 2, "POST", "volunteer", f"{task}/complete", volunteer_id=volunteer, hours=1,
                  cost_fen=100)
        self.call(n, 3, "POST", "volunteer", f"{task}/verify",
                  verifier_id=f"g{grid:02d}-grid_leader", approved=True)
        poll(lambda: self.call(n, 4, "GET", "petition", f"/petitions/{petition_id}")["state"]
             == "resolved", timeout=300, interval=0.25, what=f"{petition_id} to be resolved")
        self.call(n, 5, "POST", "petition", f"/petitions/{petition_id}/follow-up",
                  actor="resident", rating=5)
        self.call(n, 6, "POST", "petition", f"/petitions/{petition_id}/close",
                  actor=f"g{grid:02d}-grid_leader", reason="verified by the resident")
        return petition_id


def minutes_banked(platform):
    return sum(requests.get(f"{platform.url('volunteer')}/bank/members/{v}", timeout=30,
                            headers=bearer()).json()["balance_minutes"] for v in VOLUNTEERS)


def settled(platform, databases, ids, banked_before):
    """Wait for what follows a closure: every capture made, every hour banked, every
    outbox relayed. At least once each; the tests then check it was exactly once."""
    poll(lambda: databases["funding"].transactions.count_documents(
        {"petition_id": {"$in": ids}, "kind": "capture"}) >= len(ids), timeout=300,
        interval=0.5, what="every petition's settlement")
    poll(lambda: minutes_banked(platform) - banked_before >= 60 * len(ids), timeout=300,
         interval=0.5, what="every task's hour banked")
    for service, collection in OUTBOXES.items():
        poll(lambda s=service, c=collection: databases[s][c].count_documents(
            {"outbox_pending": True}) == 0, timeout=300, interval=0.5,
            what=f"{service}'s outbox to drain")


@pytest.fixture(scope="module")
def scaled(infrastructure, mongo_client, tmp_path_factory):
    """Two instances of each service, seeded once both run, and the petitions flowed
    through them: (platform, databases by service, petition ids, minutes banked before)."""
    with platform_of_its_own(infrastructure, mongo_client, SCALING_PORTS,
                             tmp_path_factory.mktemp("scaling-logs"), seed=False,
                             PETITION_DUPLICATE_RADIUS_M="1") as (running, env):
        for service in SERVICES:
            running.start(service, instance=2)
        running.wait_ready()
        demo_city.seed({s: running.url(s) for s in SERVICES})
        banked = minutes_banked(running)
        with ThreadPoolExecutor(6) as pool:
            ids = list(pool.map(Flow(running).petition, range(PETITIONS)))
        databases = {s: mongo_client[env["DATABASE_PREFIX"] + s] for s in SERVICES}
        settled(running, databases, ids, banked)
        yield running, databases, ids, banked


def test_every_petition_raised_over_either_instance_is_closed(scaled):
    platform, databases, ids, _ = scaled
    assert len(set(ids)) == PETITIONS
    states = {p["_id"]: p["state"] for p in databases["petition"].petitions.find({"_id": {"$in": ids}})}
    assert states == dict.fromkeys(ids, "closed")


def test_two_instances_of_each_service_handle_every_petition_exactly_once(scaled):
    platform, databases, ids, _ = scaled
    # One dispatch, one task and one capture per petition, whichever instance took the event.
    for petition_id in ids:
        assert databases["grid"].dispatches.count_documents({"petition_id": petition_id}) == 1
        assert databases["volunteer"].tasks.count_documents({"petition_id": petition_id}) == 1
        assert databases["funding"].transactions.count_documents(
            {"petition_id": petition_id, "kind": "capture"}) == 1
    # Each step caused exactly one event (the relay may publish one twice; its id is one).
    for service, types in ONE_EACH.items():
        for event_type in types:
            published = [e["event"]["data"]["petition_id"] for e in
                         databases[service].published_events.find({"type": event_type})]
            assert sorted(published) == sorted(ids), (service, event_type)


def test_the_ledgers_balance_when_two_instances_settle_and_bank_hours(scaled):
    platform, databases, ids, banked_before = scaled
    funding = requests.get(f"{platform.url('funding', 2)}/reconciliation", timeout=30,
                           headers=bearer()).json()
    assert funding["reconciled"] and funding["orders_not_settled_exactly_once"] == []
    hours = requests.get(f"{platform.url('volunteer', 2)}/bank/trial-balance", timeout=30,
                         headers=bearer()).json()
    assert all(total == 0 for total in hours.values())
    # An hour banked per task, once: a second deposit of the same task would show here.
    assert minutes_banked(platform) - banked_before == 60 * PETITIONS


def events_handled(platform, service, instance):
    text = requests.get(f"{platform.url(service, instance)}/metrics", timeout=30,
                        headers=bearer()).text
    return sum(sample.value for family in text_string_to_metric_families(text)
               if family.name == "events_handled" for sample in family.samples
               if sample.name == "events_handled_total" and sample.labels["outcome"] == "handled")


def test_both_instances_of_each_service_take_a_share_of_the_events(scaled):
    platform, *_ = scaled
    handled = {(s, n): events_handled(platform, s, n) for s in SERVICES for n in (1, 2)}
    assert all(count > 0 for count in handled.values()), handled
