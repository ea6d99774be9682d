"""The operator CLI against a platform of its own (ports 18401-18404, its own virtual host
and databases): each command as an operator types it, checked against what the platform
itself says. The tail runs as a real process, stopped with Ctrl-C as a person would."""

import os
import re
import select
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from click.testing import CliRunner

from services.grid.calendar import DEMO_CALENDAR
from shared.broker import Broker, event_exchange, queue_name
from tests.conftest import platform_of_its_own, poll
from tools import demo_city
from tools.auth import bearer
from tools.cli import cli
from tools.platform import ROOT

CLI_PORTS = {"grid": 18401, "petition": 18402, "volunteer": 18403, "funding": 18404}
PETITION_ID = re.compile(r"\bP-[0-9a-f]{12}\b")
DISPATCH_QUEUE = queue_name("petition", "petition.accepted.v1", "grid", "dispatch")


@pytest.fixture(scope="module")
def cli_env(infrastructure, mongo_client, tmp_path_factory):
    """The environment an operator of this platform would have: its URLs, its broker and
    database, and the signing key (so the CLI mints its own token)."""
    with platform_of_its_own(infrastructure, mongo_client, CLI_PORTS,
                             tmp_path_factory.mktemp("cli-logs"), seed=False,
                             PETITION_DUPLICATE_RADIUS_M="5") as (running, env):
        yield {**{f"{service.upper()}_URL": running.url(service) for service in CLI_PORTS},
               "AMQP_URI": env["AMQP_URI"], "MONGO_URI": env["MONGO_URI"],
               "DATABASE_PREFIX": env["DATABASE_PREFIX"], "GRID_TOKEN": None,
               "AUTH_SIGNING_KEY": env["AUTH_SIGNING_KEY"],
               "AUTH_PUBLIC_KEYS": env["AUTH_PUBLIC_KEYS"],
               # The terminal the tables are laid out to fit.
               "COLUMNS": "80"}


def gridctl(env, *args):
    return CliRunner(env=env).invoke(cli, args)


def succeeds(env, *args):
    result = gridctl(env, *args)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def seeded(cli_env):
    return gridctl(cli_env, "seed")


def api(env, service, method, path, **kwargs):
    response = requests.request(method, env[f"{service.upper()}_URL"] + path, headers=bearer(),
                                timeout=10, **kwargs)
    assert response.status_code < 400, response.text
    return response.json() if "json" in response.headers["Content-Type"] else response.text


SPOTS = iter(range(100))


def raise_drain(env, grid):
    """A drain petition at a fresh spot in grid number ``grid``, raised with the CLI."""
    n = next(SPOTS)
    spot = demo_city.point_in(grid, 0.05 + n % 10 / 10, 0.05 + n // 10 / 10)
    output = succeeds(env, "petitions", "raise", "--category", "drains", "--lat", str(spot["lat"]),
                      "--lng", str(spot["lng"]), "--description", "The drain overflows in rain.",
                      "--attribute", "severity=overflowing", "--name", "Wang Fang",
                      "--phone", "13800000000", "--channel", "hotline")
    return PETITION_ID.search(output).group()


def test_seed_loads_the_demo_city_showing_each_stage_to_its_end(seeded, cli_env):
    assert seeded.exit_code == 0, seeded.output
    assert "4 communities, 45 grids, 5 volunteer teams" in seeded.stdout
    volunteers = len(list(demo_city.volunteers()))
    assert re.search(rf"volunteers\s.*{volunteers}/{volunteers}", seeded.stderr)
    assert re.search(r"grids known to the petition service\s.*45/45", seeded.stderr)
    # What it said it loaded is what the services now serve.
    assert len(api(cli_env, "petition", "GET", "/grids")["grids"]) == 45
    assert api(cli_env, "volunteer", "GET", "/volunteers/team-night-patrol-10")["name"]


def test_a_petition_raised_with_the_cli_is_listed_by_it_across_pages(seeded, cli_env):
    raised = [raise_drain(cli_env, grid=5) for _ in range(3)]
    for petition_id in raised:
        assert api(cli_env, "petition", "GET", f"/petitions/{petition_id}")["grid_id"] == "g05"

    # Two to a page: the third is only there if the CLI followed next_cursor.
    listed = succeeds(cli_env, "petitions", "list", "--grid", "g05", "--page-size", "2")
    assert set(PETITION_ID.findall(listed)) == set(raised)
    row = next(line for line in listed.splitlines() if raised[0] in line)
    assert "g05" in row and "drains" in row

    newest_two = succeeds(cli_env, "petitions", "list", "--grid", "g05", "--limit", "2")
    assert PETITION_ID.findall(newest_two) == [raised[2], raised[1]]
    assert "raise --limit to see them" in newest_two


def test_a_refused_request_shows_the_platforms_message_and_fields_and_fails(seeded, cli_env):
    outside = gridctl(cli_env, "petitions", "raise", "--category", "drains", "--lat", "0",
                      "--lng", "0", "--description", "Somewhere far away", "--anonymous",
                      "--attribute", "severity=blocked")
    assert outside.exit_code == 1
    assert isinstance(outside.exception, SystemExit)  # an answer, not a traceback
    assert "The location lies outside every grid of this city." in outside.stderr
    assert "location: (0.0, 0.0) is in no grid" in outside.stderr

    spot = demo_city.point_in(1)
    unsaid = gridctl(cli_env, "petitions", "raise", "--category", "drains", "--lat",
                     str(spot["lat"]), "--lng", str(spot["lng"]), "--description",
                     "The drain smells", "--anonymous")
    assert unsaid.exit_code == 1
    assert "attributes.severity: Missing data for required field." in unsaid.stderr

    nowhere = gridctl(cli_env, "report", "rates", "--area", "nowhere")
    assert nowhere.exit_code == 1
    assert "No area 'nowhere' has grids" in nowhere.stderr


def rates_row(table, rate):
    return re.sub(r"\s+", " ", next(line for line in table.splitlines() if f" {rate} " in line))


def test_the_rates_report_counts_what_the_platform_counted(seeded, cli_env):
    # Two drains in Nanyuan (grid 13 onwards); the team signs for one of them.
    raised = [raise_drain(cli_env, grid=13) for _ in range(2)]
    task_id = f"T-{raised[0]}-1"
    poll(lambda: requests.get(f"{cli_env['VOLUNTEER_URL']}/tasks/{task_id}", headers=bearer(),
                              timeout=5).status_code == 200, what="the task to open")
    api(cli_env, "volunteer", "POST", f"/tasks/{task_id}/claim",
        json={"volunteer_id": "team-drain-repair-1"})

    zone = ZoneInfo(DEMO_CALENDAR.timezone)
    today = datetime.now(zone).date()
    # In UTC: the petition service compares times as text, and keeps them in UTC.
    day = {"from": datetime.combine(today, datetime.min.time(), zone).astimezone(UTC).isoformat(),
           "to": datetime.combine(today + timedelta(days=1), datetime.min.time(), zone)
           .astimezone(UTC).isoformat()}
    counted = poll(lambda: (figures := api(cli_env, "petition", "GET", "/figures/rates", params={
        "area_id": "c-nanyuan", **day}))["dispatched"] == 2
        and figures["acknowledged_on_time"] == 1 and figures,
        what="the platform to count both dispatches and the claim")
    assert (counted["resolved"], counted["rated"]) == (0, 0)

    table = succeeds(cli_env, "report", "rates", "--area", "c-nanyuan", "--from", str(today),
                     "--to", str(today))
    assert "c-nanyuan" in table and DEMO_CALENDAR.timezone in table
    assert rates_row(table, "response") == (
        f"│ response │ {counted['response_rate']:.1%} │ 1 acknowledged on time of 2 dispatched │")
    assert rates_row(table, "resolution") == "│ resolution │ 0.0% │ 0 resolved of 2 dispatched │"
    assert rates_row(table, "satisfaction") == "│ satisfaction │ — │ 0 satisfied of 0 rated │"

    # A period that ended yesterday holds none of today's petitions.
    yesterday = str(today - timedelta(days=1))
    before = succeeds(cli_env, "report", "rates", "--area", "c-nanyuan", "--to", yesterday)
    assert "0 acknowledged on time of 0 dispatched" in rates_row(before, "response")


class Output:
    """A process's output, line by line, waited for with a deadline."""

    def __init__(self, process):
        self.process = process
        self.pending = b""
        self.lines = []

    def wait_for(self, wanted, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            found = next((line for line in self.lines if wanted(line)), None)
            if found:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"not printed within {timeout}s; got {self.lines}")
            ready, _, _ = select.select([self.process.stdout], [], [], remaining)
            if ready:
                chunk = os.read(self.process.stdout.fileno(), 65536)
                if not chunk:
                    raise AssertionError(f"the process ended; it printed {self.lines}")
                *complete, self.pending = (self.pending + chunk).split(b"\n")
                self.lines += [line.decode() for line in complete]


def test_tail_prints_each_event_as_it_is_published_until_ctrl_c(seeded, cli_env, mongo_client):
    env = {**os.environ, **{k: v for k, v in cli_env.items() if v is not None},
           "PYTHONPATH": str(ROOT)}
    env.pop("GRID_TOKEN", None)
    # As an operator's terminal would: a suite started in the background by a script
    # inherits Ctrl-C ignored, and Python then never raises KeyboardInterrupt.
    tail = subprocess.Popen([sys.executable, "-m", "tools.cli", "events", "tail", "--type",
                             "petition.raised.*"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        output = Output(tail)
        output.wait_for(lambda line: line.startswith("Tailing petition.raised.*"))

        petition_id = raise_drain(cli_env, grid=2)
        line = output.wait_for(lambda line: petition_id in line)
        kept = poll(lambda: mongo_client[cli_env["DATABASE_PREFIX"] + "petition"]
                    .published_events.find_one({"event.subject": petition_id,
                                                "event.type": "petition.raised.v1"}),
                    what="the petition service to keep the event")["event"]
        assert line.split() == [
            datetime.fromisoformat(kept["time"]).isoformat(timespec="milliseconds"),
            "petition.raised.v1", petition_id, "correlation", kept["correlationid"]]

        tail.send_signal(signal.SIGINT)
        assert tail.wait(timeout=10) == 0
    finally:
        if tail.poll() is None:
            tail.kill()
            tail.wait()
        tail.stdout.close()
    # Only what was asked for: the acceptance that follows every raise is not shown.
    assert not any("petition.accepted.v1" in line for line in output.lines)


def dead_lettered_by_dispatch(env):
    """How many messages the grid service's dispatch handler has dead-lettered, by its metrics."""
    metrics = api(env, "grid", "GET", "/metrics")
    found = re.search(r'events_handled_total\{[^}]*handler="dispatch",outcome="dead_lettered"'
                      r'[^}]*\} ([0-9.]+)', metrics)
    return float(found.group(1)) if found else 0.0


def test_a_poison_message_is_listed_shown_and_republished_to_its_queue(seeded, cli_env):
    broker = Broker(cli_env["AMQP_URI"])
    try:
        broker.publish(b"{not json", event_exchange("petition").name, "petition.accepted.v1",
                       "poison-1")
    finally:
        broker.reset()

    listed = poll(lambda: DISPATCH_QUEUE in (out := succeeds(cli_env, "dead-letters", "list"))
                  and out, what="the dead letter to be listed")
    assert "Dead letters, oldest first: 1" in listed
    assert re.search(rf"│ +1 │ {re.escape(DISPATCH_QUEUE)} +│ cannot decode", listed)

    shown = succeeds(cli_env, "dead-letters", "show", "1").splitlines()
    assert shown[0] == f"queue:  {DISPATCH_QUEUE}"
    assert shown[1].startswith("reason: cannot decode the body as application/json")
    assert shown[-1] == "{not json"  # the body as it came

    # Still poison, so back on its queue it is dead-lettered again: the handler saw it twice.
    assert dead_lettered_by_dispatch(cli_env) == 1
    republished = succeeds(cli_env, "dead-letters", "republish", "1")
    assert f"1  back on {DISPATCH_QUEUE}" in republished
    poll(lambda: dead_lettered_by_dispatch(cli_env) == 2, what="the handler to take it again")
    assert "Dead letters, oldest first: 1" in succeeds(cli_env, "dead-letters", "list")

    missing = gridctl(cli_env, "dead-letters", "republish", "7")
    assert missing.exit_code == 1
    assert "No dead letter 7; there were 1." in missing.stderr
    assert dead_lettered_by_dispatch(cli_env) == 2  # number 1 was left alone


def test_replay_publishes_a_services_kept_events_again_and_counts_them(seeded, cli_env,
                                                                       mongo_client):
    kept = mongo_client[cli_env["DATABASE_PREFIX"] + "grid"].published_events.count_documents(
        {"event.type": "grid.registered.v1"})
    assert kept == 45  # the seed registered every grid once
    yesterday = str(datetime.now(ZoneInfo(DEMO_CALENDAR.timezone)).date() - timedelta(days=1))
    replayed = gridctl(cli_env, "replay", "grid", "--since", yesterday, "--type",
                       "grid.registered.v1")
    assert replayed.exit_code == 0, replayed.output
    assert "Replayed 45 events of grid." in replayed.stdout
    assert "45/45" in replayed.stderr

    # The subscribers already had them, so the platform is as it was.
    assert len(api(cli_env, "petition", "GET", "/grids")["grids"]) == 45

    elsewhere = gridctl(cli_env, "replay", "petition", "--since", yesterday, "--type",
                        "petition.dispatched.v1")
    assert elsewhere.exit_code == 2
    assert "petition.dispatched.v1 is published by grid, not petition" in elsewhere.stderr
