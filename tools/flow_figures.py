"""Drive petitions through a running platform and print each hop's latency.

    python -m tools.flow_figures [count]     (against `make demo`)

Hop latencies come from the timeline's event times, so they measure the
platform (outbox relay, broker, consumer), not this script. A first look
only: the full benchmark with ceilings is `make bench` (a later issue).
"""

import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import requests

from tools import demo_city
from tools.auth import bearer
from tools.platform import DEMO_PORTS

URL = {s: f"http://127.0.0.1:{p}" for s, p in DEMO_PORTS.items()}
HTTP = requests.Session()  # as an operator: it plays resident, volunteer and grid leader
HOPS = [("petition.raised.v1", "petition.dispatched.v1"),
        ("petition.dispatched.v1", "task.opened.v1"),
        ("task.completed.v1", "funds.settled.v1")]


def wait_for(check, timeout=60):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise RuntimeError("timed out")
        time.sleep(0.05)
    return result


def one(n):
    # Nine spots some 60 m apart in each grid: not one another's likely duplicates.
    spot = demo_city.point_in(n % 45 + 1, 0.2 + 0.3 * (n // 45 % 3), 0.2 + 0.3 * (n // 135 % 3))
    body = {"category": "drains", "attributes": {"severity": "blocked"},
            "description": f"Drain {n}", "location": spot, "reporter": {"anonymous": True}}
    pid = HTTP.post(f"{URL['petition']}/petitions", json=body, timeout=10).json()["id"]
    task = f"{URL['volunteer']}/tasks/T-{pid}-1"
    wait_for(lambda: HTTP.get(task, timeout=10).status_code == 200)
    volunteer = {"volunteer_id": f"team-drain-repair-{n % 6 + 1}"}
    HTTP.post(f"{task}/claim", json=volunteer, timeout=10).raise_for_status()
    HTTP.post(f"{task}/complete", json={**volunteer, "hours": 1, "cost_fen": 100},
                  timeout=10).raise_for_status()
    HTTP.post(f"{task}/verify", json={"verifier_id": f"g{n % 45 + 1:02d}-grid_leader",
                                          "approved": True}, timeout=10).raise_for_status()
    timeline = f"{URL['petition']}/petitions/{pid}/timeline"
    steps = wait_for(lambda: len(t := HTTP.get(timeline, timeout=10).json()["timeline"]) == 6
                     and t)
    return {s["type"]: datetime.fromisoformat(s["at"]) for s in steps}


def percentile(values, p):
    return sorted(values)[min(len(values) - 1, int(p / 100 * len(values)))]


def main(count):
    HTTP.headers.update(bearer())
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        runs = list(pool.map(one, range(count)))
    elapsed = time.monotonic() - started
    print(f"{count} petitions raised, handled and settled in {elapsed:.1f} s "
          f"(8 concurrent residents/volunteers)")
    for start, end in HOPS + [("petition.raised.v1", "funds.settled.v1")]:
        ms = [(r[end] - r[start]).total_seconds() * 1000 for r in runs]
        print(f"  {start} -> {end}: p50 {statistics.median(ms):.0f} ms, "
              f"p95 {percentile(ms, 95):.0f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if sys.argv[1:] else 200)
