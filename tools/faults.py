"""The fault suite: kill anything at any moment, and lose nothing, settle nothing twice.

    python -m tools.faults                 every fault, 40 petitions each (make faults)
    python -m tools.faults --petitions 8 --fault "kill -9 volunteer"

For each fault, petitions flow through the whole pipeline over HTTP (raised,
dispatched, claimed, completed, verified, paid for) while, at a random moment,
the fault strikes; then the platform recovers and every petition must reach
"resolved" with exactly one settlement, every ledger must reconcile, and the
hours must sum to zero. The clients retry as real ones would: a request that
failed while a service was down is sent again, and an answer that it was already
done counts as done. The suite prints a table: fault, petitions, reached final
state, lost, duplicated.
"""

import argparse
import itertools
import os
import random
import signal
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from tools import demo_city, infra
from tools.auth import bearer
from tools.infra import new_database_prefix
from tools.platform import SERVICES, Platform

PORTS = {"grid": 19001, "petition": 19002, "volunteer": 19003, "funding": 19004}
SPOTS = itertools.count()


class Flow:
    """Petitions driven through the pipeline by patient clients."""

    def __init__(self, platform, deadline):
        self.platform, self.deadline = platform, deadline

    def call(self, service, method, path, done=(200, 201), also_done=(), **kwargs):
        """Send until answered; ``also_done`` are answers meaning it was done before."""
        while time.monotonic() < self.deadline:
            try:
                response = requests.request(method, self.platform.url(service) + path,
                                            timeout=10, headers=bearer(), **kwargs)
                if response.status_code in done or response.status_code in also_done:
                    return response
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"{method} {service}{path} never succeeded")

    def petition(self, n):
        spot = next(SPOTS)
        grid = spot % 45 + 1
        location = demo_city.point_in(grid, 0.05 + spot // 45 % 10 / 10, 0.05 + spot // 450 % 10 / 10)
        body = {"category": "drains", "attributes": {"severity": "blocked"},
                "description": f"Fault-suite drain {n}", "location": location,
                "reporter": {"anonymous": True}}
        petition_id = self.call("petition", "POST", "/petitions", json=body).json()["id"]
        task = f"/tasks/T-{petition_id}-1"
        self.call("volunteer", "GET", task)
        volunteer = {"volunteer_id": f"team-drain-repair-{n % 6 + 1}"}
        self.call("volunteer", "POST", f"{task}/claim", json=volunteer, also_done=(409,))
        self.call("volunteer", "POST", f"{task}/complete", also_done=(409,),
                  json={**volunteer, "hours": 1, "cost_fen": 10_000})
        self.call("volunteer", "POST", f"{task}/verify", also_done=(409,),
                  json={"verifier_id": f"g{grid:02d}-grid_leader", "approved": True})
        return petition_id


def kill(*services):
    def strike(platform, env):
        for service in services:
            platform.kill(service)
        for service in services:
            platform.start(service)
    return strike


def restart_rabbitmq(platform, env):
    subprocess.run(["rabbitmqctl", "-q", "shutdown"], check=False)
    infra.ensure_rabbitmq()


def restart_database(platform, env):
    if os.environ.get("MONGO_URI"):
        raise SystemExit("the database is not ours to restart (MONGO_URI is set)")
    subprocess.run(["pkill", "-KILL", "-f", str(infra.FERRETDB)], check=False)
    infra.wait_for_port_closed(27017)
    infra.ensure_mongo()


def second_instances_killed(platform, env):
    for service in SERVICES:
        platform.kill(f"{service}#2")


FAULTS = {
    **{f"kill -9 {s}": kill(s) for s in SERVICES},
    "kill -9 grid and funding at once": kill("grid", "funding"),
    "restart RabbitMQ": restart_rabbitmq,
    "restart the database": restart_database,
    "two instances each, kill one": second_instances_killed,
}


def run_fault(platform, env, name, petitions, workers=6, seed=None):
    randomness = random.Random(seed)
    if name == "two instances each, kill one":
        for service in SERVICES:
            platform.start(service, instance=2)
        platform.wait_ready()
    flow = Flow(platform, time.monotonic() + 600)
    struck = threading.Event()

    def strike_later():
        time.sleep(randomness.uniform(1, 6))
        FAULTS[name](platform, env)
        platform.wait_ready(timeout=180)
        struck.set()

    striker = threading.Thread(target=strike_later)
    striker.start()
    with ThreadPoolExecutor(workers) as pool:
        ids = list(pool.map(flow.petition, range(petitions)))
    striker.join()
    return ids, check(platform, ids)


def check(platform, ids, timeout=300):
    """Wait for every petition to be resolved and paid for; then count what went wrong."""
    deadline = time.monotonic() + timeout

    def state(petition_id):
        return requests.get(f"{platform.url('petition')}/petitions/{petition_id}",
                            timeout=10, headers=bearer()).json()["state"]

    def captures(petition_id):
        found = requests.get(f"{platform.url('funding')}/transactions",
                             params={"petition_id": petition_id}, timeout=10,
                             headers=bearer()).json()
        return sum(1 for t in found["transactions"] if t["kind"] == "capture")

    pending = set(ids)
    while pending and time.monotonic() < deadline:
        pending = {p for p in pending if not (state(p) == "resolved" and captures(p) >= 1)}
        time.sleep(1)
    duplicated = sum(1 for p in ids if captures(p) > 1)
    funding = requests.get(f"{platform.url('funding')}/reconciliation", timeout=30,
                           headers=bearer()).json()
    hours = requests.get(f"{platform.url('volunteer')}/bank/trial-balance", timeout=30,
                         headers=bearer()).json()
    return {"petitions": len(ids), "reached": len(ids) - len(pending), "lost": len(pending),
            "duplicated": duplicated + len(funding["orders_not_settled_exactly_once"]),
            "ledgers_balanced": funding["reconciled"] and all(v == 0 for v in hours.values())}


def start_platform(log_dir):
    """The platform on its own ports, virtual host and databases, seeded with the demo city."""
    env = infra.up()
    vhost, amqp_uri = infra.add_vhost("faults", env["AMQP_URI"])
    env = {**env, "AMQP_URI": amqp_uri, "DATABASE_PREFIX": new_database_prefix(),
           "OUTBOX_SWEEP_SECONDS": "2", "PETITION_DUPLICATE_RADIUS_M": "5"}
    platform = Platform(env, PORTS, log_dir)
    platform.start_all()
    demo_city.seed({s: platform.url(s) for s in SERVICES})
    return platform, env, vhost


def run(names, petitions, log_dir=None):
    log_dir = log_dir or tempfile.mkdtemp(prefix="faults-")
    platform, env, vhost = start_platform(log_dir)
    results = []
    try:
        for name in names:
            ids, result = run_fault(platform, env, name, petitions)
            results.append({"fault": name, **result})
            print(row(results[-1]), flush=True)
    finally:
        platform.stop_all()
        infra.delete_vhost(vhost)
    return results


def row(result):
    return (f"| {result['fault']} | {result['petitions']} | {result['reached']} | "
            f"{result['lost']} | {result['duplicated']} | "
            f"{'yes' if result['ledgers_balanced'] else 'NO'} |")


HEADER = ("| fault | petitions | reached final state | lost | duplicated | ledgers balance |\n"
          "|---|---|---|---|---|---|")


def main():
    parser = argparse.ArgumentParser(prog="python -m tools.faults", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--petitions", type=int, default=40)
    parser.add_argument("--fault", action="append", choices=sorted(FAULTS))
    args = parser.parse_args()
    print(HEADER, flush=True)
    results = run(args.fault or list(FAULTS), args.petitions)
    failed = [r for r in results if r["lost"] or r["duplicated"] or not r["ledgers_balanced"]]
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    main()
