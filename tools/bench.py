"""The benchmark: the whole flow, intake to closure, on the real broker and database,
beside the ceiling this machine sets for the same work.

    python -m tools.bench [--petitions 2000] [--clients 8] [--instances 1] [--write]  (make bench)
                          [--profile DIR]

A platform of its own (ports 18501-18505, its own vhost and databases) is seeded with
the demo city. ``--instances N`` runs N processes of each domain service, competing for
the same queues as Kubernetes replicas would; the clients call each in turn, as a
Kubernetes Service spreads calls over its pods. Clients play residents, volunteers and
grid leaders: each raises a petition over HTTP, waits for its task, claims, completes
and verifies it, rates the work and closes the petition. The hops are measured from the
events' own times.

Two loads, one after the other: the full load, the clients each taking petition after
petition as fast as the platform answers, which gives the sustained rate; then half of
that rate, a quarter as many petitions (at least ``HALF_LOAD_MIN``) started at a steady
pace whatever the platform's (``paced``), where the latency target applies.

The ceiling: raw kombu publish (with publisher confirms, into durable queues) and
consume of as many messages per petition as the flow published, each from as many
queues as the flow's reached, and raw pymongo writes of the documents the flow wrote
per petition, counting one write per version of each, into collections with the same
indexes as the flow's; by 1, 2, 4 and 8 concurrent publishers and writers (the best
counts), once the platform has stopped, so that nothing else runs on the machine. A
petition needs both on the same two cores, so the ceiling adds their times (``ceiling``).
``--write`` puts the results in bench/results.json and a table in the README's
performance section. ``--profile DIR`` keeps CPU profiles of the flow's first half-minute
there (``Profiles``).
"""

import argparse
import itertools
import json
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import requests
import urllib3
from kombu import Connection, Exchange, Producer, Queue, binding
from pymongo import MongoClient

from shared.catalogue import CATALOGUE
from tools import demo_city, infra
from tools.auth import bearer
from tools.platform import CLASSES, Platform

ROOT = Path(__file__).resolve().parents[1]
PORTS = {service: 18501 + n for n, service in enumerate(CLASSES)}
HOPS = {"raised -> dispatched": ("petition.raised.v1", "petition.dispatched.v1"),
        "dispatched -> task opened": ("petition.dispatched.v1", "task.opened.v1"),
        "completed -> settled": ("task.completed.v1", "funds.settled.v1"),
        "intake -> closed": ("petition.raised.v1", "petition.closed.v1")}
SERVICES = ("grid", "petition", "volunteer", "funding")
CEILING_CLIENTS = (1, 2, 4, 8)
CEILING_ROUNDS = 3
# What bench/runs.json keeps of each run; runs are compared when these are the same.
RECORDED = ("at", "code", "petitions", "clients", "instances", "petitions_per_second",
            "fraction_of_ceiling", "fraction_of_database_alone")
COMPARABLE = ("code", "petitions", "clients", "instances")
# The latency target holds at half of the maximum load: a quarter as many petitions as
# the full-load run, at least this many, started at half its rate.
HALF_LOAD_MIN = 100
PACED_WORKERS = 64


class Balancer:
    """``balancer["petition"]`` is the base URL of the next instance of the service, in
    turn."""

    def __init__(self, platform, instances):
        self.turns = {s: itertools.cycle([platform.url(s, n) for n in range(1, instances + 1)])
                      for s in SERVICES}

    def __getitem__(self, service):
        return next(self.turns[service])


class Workforce:
    """Residents, volunteers and grid leaders, as HTTP clients that retry politely: on
    urllib3 itself, since the simulated people share the machine with the platform and
    every millisecond of theirs is one the platform does not get."""

    def __init__(self, platform, instances=1):
        self.url = Balancer(platform, instances)
        self.pool = urllib3.PoolManager(maxsize=PACED_WORKERS, headers={
            **bearer(), "Content-Type": "application/json"}, timeout=30.0, retries=False)

    def until(self, check, timeout=600):
        """Poll as a person's app would, four times a second, from a quarter of a second
        after the step it waits on: faster polling would load the services with reads
        the flow itself does not make."""
        deadline = time.monotonic() + timeout
        time.sleep(0.25)
        while not (found := check()):
            if time.monotonic() > deadline:
                raise TimeoutError("the flow stalled")
            time.sleep(0.25)
        return found

    def request(self, method, service, path, **body):
        return self.pool.request(method, self.url[service] + path,
                                 body=json.dumps(body).encode() if body else None)

    def call(self, method, service, path, **body):
        answer = self.request(method, service, path, **body)
        if answer.status >= 400:
            raise RuntimeError(f"{method} {path}: {answer.status} {answer.data[:300]!r}")
        return json.loads(answer.data)

    def one(self, n):
        grid = n % 45 + 1
        spot = demo_city.point_in(grid, 0.05 + n // 45 % 10 / 10, 0.05 + n // 450 % 10 / 10)
        petition_id = self.call("POST", "petition", "/petitions", category="drains",
                                attributes={"severity": "blocked"}, description=f"Drain {n}",
                                location=spot, reporter={"anonymous": True})["id"]
        task = f"/tasks/T-{petition_id}-1"
        self.until(lambda: self.request("GET", "volunteer", task).status == 200)
        volunteer = f"team-drain-repair-{n % 6 + 1}"
        self.call("POST", "volunteer", f"{task}/claim", volunteer_id=volunteer)
        self.call("POST", "volunteer", f"{task}/complete", volunteer_id=volunteer, hours=1,
                  cost_fen=100)
        self.call("POST", "volunteer", f"{task}/verify", verifier_id=f"g{grid:02d}-grid_leader",
                  approved=True)
        self.until(lambda: self.call("GET", "petition", f"/petitions/{petition_id}")["state"]
                   == "resolved")
        self.call("POST", "petition", f"/petitions/{petition_id}/follow-up", actor="resident",
                  rating=5)
        self.call("POST", "petition", f"/petitions/{petition_id}/close",
                  actor=f"g{grid:02d}-grid_leader", reason="verified by the resident")
        return petition_id


class Memory:
    """The largest resident set of each service process while the flow runs."""

    def __init__(self, platform):
        self.platform, self.peak, self.running = platform, {}, True
        self.thread = threading.Thread(target=self.watch, daemon=True)
        self.thread.start()

    def watch(self):
        while self.running:
            for name, process in self.platform.processes.items():
                self.peak[name] = max(self.peak.get(name, 0), rss_mb(process.pid))
            time.sleep(0.5)

    def stop(self):
        self.running = False
        self.thread.join()
        return self.peak


class Profiles:
    """CPU profiles of every process over the first ``seconds`` of the flow: py-spy's of
    each service, sampled only while it holds the GIL (on two busy cores a process
    waiting for a core looks busy wherever it waits, in a send or a poll), as collapsed
    stacks (``<service>.txt``: speedscope.app and
    flamegraph.pl read them), and Go's of the embedded FerretDB (``ferretdb.pprof``, with
    its ``go tool pprof -top`` in ``ferretdb-top.txt``); another database has none."""

    def __init__(self, platform, directory, seconds=30):
        directory.mkdir(parents=True, exist_ok=True)
        self.directory, self.seconds = directory, seconds
        py_spy = Path(sys.executable).parent / "py-spy"
        self.recorders = [subprocess.Popen(
            [str(py_spy), "record", "--nonblocking", "--gil", "--rate", "50",
             "--duration", str(seconds), "--format", "raw", "--pid", str(process.pid), "--output",
             str(directory / f"{name}.txt")], stdout=subprocess.DEVNULL)
            for name, process in platform.processes.items()]
        self.ferretdb = threading.Thread(target=self.profile_ferretdb, daemon=True)
        self.ferretdb.start()

    def profile_ferretdb(self):
        try:
            answer = requests.get(f"http://127.0.0.1:{infra.FERRETDB_PROFILER_PORT}"
                                  f"/debug/pprof/profile?seconds={self.seconds}",
                                  timeout=self.seconds + 30)
        except requests.ConnectionError:
            return
        profile = self.directory / "ferretdb.pprof"
        profile.write_bytes(answer.content)
        if shutil.which("go"):
            top = subprocess.run(["go", "tool", "pprof", "-top", "-cum", str(profile)],
                                 capture_output=True, text=True)
            (self.directory / "ferretdb-top.txt").write_text(top.stdout)

    def wait(self):
        for recorder in self.recorders:
            recorder.wait()
        self.ferretdb.join()


def rss_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def hops(databases, petition_ids):
    """p50/p95/p99 in ms of each hop, from the published events' times."""
    times = {p: {} for p in petition_ids}
    for db in databases:
        for record in db.published_events.find({}, {"event": 1}):
            event = record["event"]
            petition_id = event["data"].get("petition_id")
            if petition_id in times:
                times[petition_id].setdefault(event["type"], datetime.fromisoformat(event["time"]))
    found = {}
    for name, (start, end) in HOPS.items():
        ms = sorted((t[end] - t[start]).total_seconds() * 1000 for t in times.values()
                    if start in t and end in t)
        found[name] = {q: round(ms[min(len(ms) - 1, int(q / 100 * len(ms)))])
                       for q in (50, 95, 99)} if ms else None
    return found


@dataclass
class FlowWork:
    """What the flow did per petition: ``messages`` published and ``writes`` (a document's
    versions, else one); how many queues each published message reached (``fan_outs``:
    its consumers in the catalogue and the webhook bridge's one queue for everything);
    the ``documents``, each with its collection's full name, and each collection's
    ``indexes`` (key and uniqueness, besides ``_id``)."""

    messages: float
    writes: float
    fan_outs: list
    documents: list
    indexes: dict


def flow_work(databases, petitions):
    fan_outs = [1 + len(CATALOGUE.by_type[record["event"]["type"]].consumers)
                for db in databases for record in db.published_events.find({}, {"event.type": 1})]
    writes, documents, indexes = 0, [], {}
    for db in databases:
        for name in db.list_collection_names():
            collection = db[name]
            indexes[collection.full_name] = [
                (index["key"], index.get("unique", False))
                for index in collection.index_information().values()
                if index["key"] != [("_id", 1)]]
            for doc in collection.find():
                writes += max(1, int(doc.get("version") or 1))
                documents.append((collection.full_name, doc))
    return FlowWork(len(fan_outs) / petitions, writes / petitions, fan_outs, documents, indexes)


def broker_ceiling(amqp_uri, fan_outs, publishers=1, sample=6500):
    """Messages per second, published with confirms by ``publishers`` concurrent clients
    into durable queues as the flow's are, each consumed (with an ack) from as many of
    them as the flow's reached (``fan_outs``, one per message; an even sample of them),
    while they are published, as the services consume: queue ``n`` is bound to the
    messages that reach more than ``n`` queues."""
    fan_outs = fan_outs[::max(1, len(fan_outs) // sample)]
    body = json.dumps({"specversion": "1.0", "data": {"x" * 40: "y" * 400}})
    exchange = Exchange("bench.ceiling", type="topic", durable=False)
    queues = [Queue(f"bench.ceiling.{n}", durable=True, bindings=[
        binding(exchange, routing_key=f"reach.{reach}")
        for reach in range(n + 1, max(fan_outs) + 1)]) for n in range(max(fan_outs))]
    consuming, received, listening = Connection(amqp_uri), [], threading.Event()
    deliveries = sum(fan_outs)

    def consume():
        with consuming.Consumer(queues, callbacks=[lambda b, m: (received.append(1), m.ack())],
                                prefetch_count=200):
            listening.set()
            while len(received) < deliveries:
                consuming.drain_events(timeout=10)

    def publish(share):
        with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
            producer = Producer(connection.channel(), exchange=exchange)
            for reach in share:
                producer.publish(body, routing_key=f"reach.{reach}", delivery_mode=2,
                                 content_type="application/json")

    with consuming:
        for queue in queues:
            queue(consuming.default_channel).declare()
        consumer = threading.Thread(target=consume)
        consumer.start()
        listening.wait()
        started = time.perf_counter()
        with ThreadPoolExecutor(publishers) as pool:
            list(pool.map(publish, [fan_outs[n::publishers] for n in range(publishers)]))
        consumer.join()
        elapsed = time.perf_counter() - started
        for queue in queues:
            queue(consuming.default_channel).delete()
    return len(fan_outs) / elapsed


def measure_ceiling(env, work, rounds=CEILING_ROUNDS):
    """The broker's messages and the database's writes per second, by concurrent clients:
    the best of ``rounds`` measurements at each concurrency, each round measuring every
    one, so that a slow minute of the machine does not spoil all of one concurrency's (the
    database's best varied from 719 to 996 writes a second between runs on 2026-12-04,
    when each concurrency's two measurements were made one after the other)."""
    by_publishers, by_writers = {}, {}
    for _ in range(rounds):
        for n in CEILING_CLIENTS:
            by_publishers[n] = max(by_publishers.get(n, 0), round(
                broker_ceiling(env["AMQP_URI"], work.fan_outs, n)))
            by_writers[n] = max(by_writers.get(n, 0), round(
                database_ceiling(env["MONGO_URI"], work.documents, work.indexes, n)))
    return by_publishers, by_writers


def ceiling(messages, writes, broker, database):
    """Petitions per second this machine allows: one petition's messages and writes take
    the broker's time and the database's, one after the other, since both run on the
    same cores (each rate was measured with the machine to itself)."""
    return 1 / (messages / broker + writes / database)


def database_ceiling(mongo_uri, documents, indexes, writers=1, sample=3000):
    """Writes per second: the flow's documents, inserted and updated as often as they were,
    each into a scratch twin of its collection with the same indexes (each write
    maintains them, as the flow's did), by ``writers`` concurrent clients. An even sample
    of them: the rate is the same, and rewriting all of a long run's documents would
    take longer than the run."""
    client = MongoClient(mongo_uri)
    client.drop_database("benchceiling")
    scratch, twins = client["benchceiling"], {}
    chosen = documents[::max(1, len(documents) // sample)]
    for name, _ in chosen:
        if name not in twins:
            twin = twins[name] = scratch[name.replace(".", "_")]
            for key, unique in indexes[name]:
                twin.create_index(key, unique=unique)

    def write(share):
        for name, doc in share:
            twin = twins[name]
            inserted = twin.insert_one({k: v for k, v in doc.items() if k != "_id"}).inserted_id
            for version in range(1, int(doc.get("version") or 1)):
                twin.update_one({"_id": inserted}, {"$set": {"version": version + 1}})

    writes = sum(max(1, int(doc.get("version") or 1)) for _, doc in chosen)
    started = time.perf_counter()
    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(write, [chosen[n::writers] for n in range(writers)]))
    elapsed = time.perf_counter() - started
    client.drop_database("benchceiling")
    return writes / elapsed


def paced(workforce, rate, count, first):
    """``count`` petitions started at ``rate`` a second, whatever the platform's pace: an
    open loop, as residents do not wait for each other's petitions (a closed loop of
    clients would slow its arrivals as the platform slows, and hide the wait). Their ids."""
    started, futures = time.monotonic(), []
    with ThreadPoolExecutor(PACED_WORKERS) as pool:
        for k in range(count):
            time.sleep(max(0.0, started + k / rate - time.monotonic()))
            futures.append(pool.submit(workforce.one, first + k))
        return [future.result() for future in futures]


def run(petitions, clients, log_dir, instances=1, profile_dir=None):
    code = code_version()
    env = infra.up()
    vhost, amqp_uri = infra.add_vhost("bench", env["AMQP_URI"])
    prefix = infra.new_database_prefix()
    env = {**env, "AMQP_URI": amqp_uri, "DATABASE_PREFIX": prefix,
           "PETITION_DUPLICATE_RADIUS_M": "1", "INTAKE_PER_MINUTE": "100000"}
    platform = Platform(env, PORTS, log_dir)
    client = MongoClient(env["MONGO_URI"])
    databases = [client[prefix + s] for s in SERVICES]
    try:
        platform.start_all()
        for instance in range(2, instances + 1):
            for service in SERVICES:
                platform.start(service, instance)
        platform.wait_ready()
        demo_city.seed({s: platform.url(s) for s in SERVICES})
        workforce, memory = Workforce(platform, instances), Memory(platform)
        profiles = profile_dir and Profiles(platform, profile_dir)
        started = time.monotonic()
        with ThreadPoolExecutor(clients) as pool:
            ids = list(pool.map(workforce.one, range(petitions)))
        elapsed = time.monotonic() - started
        rate = petitions / elapsed
        if profiles:
            profiles.wait()
        half = max(HALF_LOAD_MIN, petitions // 4)
        half_ids = paced(workforce, rate / 2, half, first=petitions)
        peak = memory.stop()
        work = flow_work(databases, petitions + half)
        full_load, half_load = hops(databases, ids), hops(databases, half_ids)
        # The ceiling is the machine's, with nothing else running on it: not the platform,
        # nor the database tidying the flow's tables.
        platform.stop_all()
        infra.drop_databases(client, prefix)  # the webhook bridge's too
        by_publishers, by_writers = measure_ceiling(env, work)
        broker, database = max(by_publishers.values()), max(by_writers.values())
        messages, writes = work.messages, work.writes
        most = ceiling(messages, writes, broker, database)
        return {"date": date.today().isoformat(), "petitions": petitions, "clients": clients,
                "instances": instances,
                "seconds": round(elapsed, 1), "petitions_per_second": round(rate, 2),
                "hops_ms": full_load,
                "half_load": {"petitions": half,
                              "offered_per_second": round(rate / 2, 2),
                              "hops_ms": half_load},
                "per_petition": {"messages": round(messages, 1),
                                 "deliveries": round(sum(work.fan_outs) / (petitions + half), 1),
                                 "writes": round(writes, 1)},
                "ceiling": {"broker_messages_per_second": broker,
                            "broker_messages_per_second_by_publishers": by_publishers,
                            "database_writes_per_second": database,
                            "database_writes_per_second_by_writers": by_writers,
                            "broker_alone_petitions_per_second": round(broker / messages, 2),
                            "database_alone_petitions_per_second": round(database / writes, 2),
                            "petitions_per_second": round(most, 2)},
                "fraction_of_ceiling": round(rate / most, 3),
                "fraction_of_database_alone": round(rate / (database / writes), 3),
                "peak_rss_mb": peak, "at": datetime.now(UTC).isoformat(timespec="seconds"),
                "code": code}
    finally:
        platform.stop_all()
        infra.drop_databases(client, prefix)
        infra.delete_vhost(vhost)


def table(result):
    lines = [f"Measured {result['date']}: {result['petitions']} petitions, {result['clients']} "
             f"concurrent clients, this 2-core machine, FerretDB over PostgreSQL.", "",
             "| figure | value |", "|---|---|",
             f"| sustained petitions per second, intake to closed | "
             f"{result['petitions_per_second']} |",
             f"| processes of each domain service | {result['instances']} |",
             f"| ceiling of this machine for the same work | "
             f"{result['ceiling']['petitions_per_second']} petitions/s: a petition's messages "
             f"at {result['ceiling']['broker_messages_per_second']} messages/s (each to as many "
             f"queues as the flow's, the best of {CEILING_ROUNDS} measurements at each of "
             f"{', '.join(map(str, CEILING_CLIENTS))} concurrent publishers) and its writes at "
             f"{result['ceiling']['database_writes_per_second']} writes/s (with the flow's "
             f"indexes, the best of {CEILING_ROUNDS} measurements at each of "
             f"{', '.join(map(str, CEILING_CLIENTS))} concurrent writers), one after the "
             f"other on the same cores |",
             "| messages/s by concurrent publishers | " + ", ".join(
                 f"{w}: {rate}" for w, rate in
                 result["ceiling"]["broker_messages_per_second_by_publishers"].items()) + " |",
             "| writes/s by concurrent writers | " + ", ".join(
                 f"{w}: {rate}" for w, rate in
                 result["ceiling"]["database_writes_per_second_by_writers"].items()) + " |",
             f"| fraction of the ceiling | {result['fraction_of_ceiling']:.1%} |",
             f"| the broker alone, the database alone | "
             f"{result['ceiling']['broker_alone_petitions_per_second']}, "
             f"{result['ceiling']['database_alone_petitions_per_second']} petitions/s "
             f"(the rate is {result['fraction_of_database_alone']:.1%} of the database's) |",
             f"| per petition | {result['per_petition']['messages']} messages "
             f"({result['per_petition']['deliveries']} deliveries), "
             f"{result['per_petition']['writes']} writes |"]
    half = result["half_load"]
    for load, hops_ms in (("at full load", result["hops_ms"]),
                          (f"at half load ({half['offered_per_second']} petitions/s offered, "
                           f"{half['petitions']} petitions)", half["hops_ms"])):
        for name, q in hops_ms.items():
            lines.append(f"| {name} p50 / p95 / p99, {load} | "
                         + (f"{q[50]} / {q[95]} / {q[99]} ms |" if q else "not reached |"))
    lines.append("| peak resident memory per process | " + ", ".join(
        f"{name} {mb:.0f} MB" for name, mb in sorted(result["peak_rss_mb"].items())) + " |")
    return "\n".join(lines)


def code_version():
    """The last commit that changed what the bench measures (the services, the shared
    library, the tools and the deployment's configuration), marked ``+changes`` when the
    working tree differs from it there: a commit of the README alone changes nothing."""
    paths = ["services", "shared", "tools", "deploy", "requirements.lock"]
    commit = subprocess.run(["git", "log", "-1", "--format=%h", "--", *paths], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                              *paths], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return commit + ("+changes" if changed else "")


def spread(runs):
    """A row of the recorded runs of the same code and load: one run's rate varies far
    more from the next on this machine than most changes move it."""
    rates = ", ".join(f"{r['petitions_per_second']}" for r in runs)
    fractions = sorted(r["fraction_of_ceiling"] for r in runs)
    return (f"| runs of this code at this load ({runs[0]['code']}), petitions/s | {rates}; "
            f"{fractions[0]:.1%} to {fractions[-1]:.1%} of their ceilings, median "
            f"{fractions[len(fractions) // 2]:.1%} |")


def write(result):
    """The run in bench/results.json, beside the earlier ones in bench/runs.json, and its
    table, with the spread of the runs of the same code, in the README."""
    (ROOT / "bench").mkdir(exist_ok=True)
    (ROOT / "bench" / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    history = ROOT / "bench" / "runs.json"
    runs = json.loads(history.read_text()) if history.exists() else []
    runs.append({key: result[key] for key in RECORDED})
    history.write_text(json.dumps(runs, indent=1) + "\n")
    same = [r for r in runs if all(r[key] == result[key] for key in COMPARABLE)]
    readme = ROOT / "README.md"
    text = readme.read_text()
    start = text.index("<!-- bench:start -->") + len("<!-- bench:start -->")
    end = text.index("<!-- bench:end -->")
    readme.write_text(text[:start] + "\n" + table(result) + "\n" + spread(same) + "\n"
                      + text[end:])


def main():
    parser = argparse.ArgumentParser(prog="python -m tools.bench")
    parser.add_argument("--petitions", type=int, default=2000)
    # Eight keep this machine's two cores busy (3 % idle over a 300-petition run on
    # 2026-12-04, 6.48 petitions a second); four, each waiting for its petition's next
    # step most of the time, left 14 % idle (5.93).
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--instances", type=int, default=1,
                        help="processes of each domain service (the webhook bridge runs one)")
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="keep CPU profiles of the flow's first half-minute in DIR")
    args = parser.parse_args()
    result = run(args.petitions, args.clients, infra.DATA / "bench-logs", args.instances,
                 args.profile)
    print(table(result))
    if args.write:
        write(result)


if __name__ == "__main__":
    main()
