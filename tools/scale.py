"""The list and report endpoints at a city's size: p50, p95 and p99 over HTTP.

    python -m tools.scale [--grids 20000] [--volunteers 200000] [--petitions 1000000]
        [--requests 200]                                                  (make scale)

A platform of its own (ports 18601-18605, its own vhost and databases) is started,
the city of tools/city.py written into its databases, and then, one request at a
time as a staff member's screen would make them:

- petitions by grid and status: GET /staff/petitions?grid_id=&state= (petition);
- a grid's three rates for a month: GET /figures/rates?area_id=&from=&to= (petition);
- a department's statement for a month: GET /statements?department_id=&from=&to=
  (funding).

After the load, the embedded PostgreSQL's tables are vacuumed and analysed, as
pgbench does before it measures, so that autovacuum does not run beside the
measurements. The timers that sweep whole collections (figures for the dashboards, follow-up and
claim sweeps, the dispatcher's clocks) are set to a day, so they do not run beside
the measurements; see the notes for what they cost at this size. Results go to
bench/scale.json; the databases and the vhost are dropped at the end.
"""

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import requests
from pymongo import MongoClient

from services.petition.domain import STATES
from tools import city, infra
from tools.auth import bearer
from tools.demo_city import BUDGETS_YUAN
from tools.platform import CLASSES, Platform

ROOT = Path(__file__).resolve().parents[1]
PORTS = {service: 18601 + n for n, service in enumerate(CLASSES)}
QUIET = {key: "86400" for key in ("PETITION_FIGURES_SECONDS", "FUNDING_FIGURES_SECONDS",
                                  "PETITION_SWEEP_SECONDS", "VOLUNTEER_SWEEP_SECONDS",
                                  "DISPATCH_SWEEP_SECONDS")}


def months(rng, count):
    """Whole months of the history, as (from, to)."""
    found = []
    for _ in range(count):
        back = rng.randrange(1, 24)
        year, month = divmod(city.UNTIL.year * 12 + city.UNTIL.month - 1 - back, 12)
        start = date(year, month + 1, 1)
        end = date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
        found.append((f"{start}T00:00:00+00:00", f"{end}T00:00:00+00:00"))
    return found


def measure(name, session, urls):
    timings = []
    for url in urls:
        started = time.perf_counter()
        answer = session.get(url, timeout=60)
        timings.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
    cuts = statistics.quantiles(timings, n=100)
    return {"endpoint": name, "requests": len(timings), "p50_ms": round(cuts[49], 1),
            "p95_ms": round(cuts[94], 1), "p99_ms": round(cuts[98], 1),
            "max_ms": round(max(timings), 1), "example": urls[0].split("/", 3)[3]}


def run(args):
    env = infra.up()
    vhost, amqp_uri = infra.add_vhost("scale", env["AMQP_URI"])
    prefix = infra.new_database_prefix()
    client = MongoClient(env["MONGO_URI"], tz_aware=True)
    platform = Platform({**env, **QUIET, "AMQP_URI": amqp_uri, "DATABASE_PREFIX": prefix},
                        PORTS, ROOT / ".data" / "scale-logs")
    try:
        print(f"[scale] starting the services (databases {prefix}*, vhost {vhost})",
              file=sys.stderr, flush=True)
        platform.start_all()
        started = time.monotonic()
        written = city.generate(city.databases_of(client, prefix), args.grids, args.volunteers,
                                args.petitions, args.seed, env["SEAL_KEYS"])
        loaded = time.monotonic() - started
        started = time.monotonic()
        vacuumed = infra.vacuum(prefix) and round(time.monotonic() - started)
        rng = random.Random(args.seed)
        grids = [f"g{rng.randrange(1, args.grids + 1):05d}" for _ in range(args.requests)]
        periods = months(rng, args.requests)
        departments = sorted({department for department, _ in BUDGETS_YUAN})
        petition, funding = platform.url("petition"), platform.url("funding")
        session = requests.Session()
        session.headers.update(bearer("auditor"))
        staff = [f"{petition}/staff/petitions?grid_id={grid}&state="
                 f"{rng.choice(('closed', 'closed', 'closed', *STATES[1:8]))}" for grid in grids]
        rates = [f"{petition}/figures/rates?area_id={grid}&from={start}&to={end}".replace(
            "+", "%2B") for grid, (start, end) in zip(grids, periods, strict=True)]
        statements = [f"{funding}/statements?department_id={rng.choice(departments)}"
                      f"&from={start}&to={end}".replace("+", "%2B") for start, end in periods]
        for urls in (staff, rates, statements):  # once each, so no first request is cold
            session.get(urls[0], timeout=60).raise_for_status()
        results = [measure("petitions by grid and status", session, staff),
                   measure("a grid's three rates for a month", session, rates),
                   measure("a department's statement for a month", session, statements)]
        report = {"at": datetime.now(UTC).isoformat(timespec="seconds"),
                  "sizes": {"grids": args.grids, "volunteers": args.volunteers,
                            "petitions": args.petitions},
                  "documents": written, "load_seconds": round(loaded),
                  "vacuum_seconds": vacuumed, "results": results}
        (ROOT / "bench").mkdir(exist_ok=True)
        (ROOT / "bench" / "scale.json").write_text(json.dumps(report, indent=2) + "\n")
        return report
    finally:
        platform.stop_all()
        for service in ("grid", "petition", "volunteer", "funding", "webhooks"):
            client.drop_database(f"{prefix}{service}")
        infra.delete_vhost(vhost)


def table(report):
    sizes = report["sizes"]
    lines = [f"{sizes['grids']:,} grids, {sizes['volunteers']:,} volunteers, "
             f"{sizes['petitions']:,} petitions; loaded in {report['load_seconds']:,} s"
             + (f", vacuumed in {report['vacuum_seconds']:,} s" if report["vacuum_seconds"]
                else ""),
             "", "| endpoint | requests | p50 ms | p95 ms | p99 ms |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {r['endpoint']} | {r['requests']} | {r['p50_ms']} | {r['p95_ms']} | "
              f"{r['p99_ms']} |" for r in report["results"]]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(prog="python -m tools.scale")
    parser.add_argument("--grids", type=int, default=20_000)
    parser.add_argument("--volunteers", type=int, default=200_000)
    parser.add_argument("--petitions", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    print(table(run(parser.parse_args())))


if __name__ == "__main__":
    main()
