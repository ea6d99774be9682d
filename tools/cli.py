"""The operator's command line: one tool for a running platform.

    python -m tools.cli seed                       the demo city, with progress bars
    python -m tools.cli petitions raise --category drains --lat 30.2741 --lng 120.1551 \\
        --description "The drain overflows" --name "Wang Fang" --phone 13800000000 \\
        --attribute severity=overflowing
    python -m tools.cli petitions list [--grid g01] [--state dispatched] [--overdue]
    python -m tools.cli events tail [--type 'petition.*']
    python -m tools.cli dead-letters list | show N | republish N ... | republish --all
    python -m tools.cli replay grid --since 2026-11-23 [--until ...] [--type ...]
    python -m tools.cli report rates --area c-hexi --from 2026-11-01 --to 2026-11-30

``python -m tools.cli COMMAND --help`` says more about each.
"""

import warnings

# Before the imports: eventlet (under the shared broker) warns as it is imported, and the
# operator can do nothing about it.
warnings.filterwarnings("ignore", message="\nEventlet is deprecated")

import json  # noqa: E402
import os  # noqa: E402
import uuid  # noqa: E402
from datetime import UTC, date, datetime, time, timedelta  # noqa: E402
from fnmatch import fnmatchcase  # noqa: E402
from zoneinfo import ZoneInfo  # noqa: E402

import click  # noqa: E402
import requests  # noqa: E402
from amqp.exceptions import AMQPError  # noqa: E402
from kombu import Connection, Queue, binding  # noqa: E402
from kombu.exceptions import OperationalError  # noqa: E402
from pymongo.errors import PyMongoError  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import (  # noqa: E402
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table  # noqa: E402
from rich.text import Text  # noqa: E402

from services.petition.domain import CHANNELS, STATES  # noqa: E402
from shared.broker import event_exchange  # noqa: E402
from shared.catalogue import CATALOGUE  # noqa: E402
from tools import demo_city, events, infra  # noqa: E402
from tools.auth import operator_token  # noqa: E402
from tools.platform import DEMO_PORTS, SERVICES  # noqa: E402

PRODUCERS = sorted({e.producer for e in CATALOGUE})
TYPE_WIDTH = max(len(t) for t in CATALOGUE.by_type)
SHORT = "%m-%d %H:%M"  # the year costs the width an 80-column terminal lacks


class Refused(click.ClickException):
    """A request the platform refused, shown as the platform put it: its message, then
    what is wrong with each field."""

    def __init__(self, response):
        try:
            error = response.json()["error"]
            message = error["message"]
        except (ValueError, KeyError, TypeError):
            error, message = {}, f"{response.status_code} {response.reason}: {response.text[:300]}"
        super().__init__(message)
        self.fields = error.get("fields") or {}

    def format_message(self):
        return "\n".join([self.message, *(f"  {name}: {problem}"
                                          for name, problem in field_problems(self.fields))])


def field_problems(fields, prefix=""):
    """("reporter.name", "Give your name, ...") for each problem, however deep the field."""
    for name, problems in fields.items():
        if isinstance(problems, dict):
            yield from field_problems(problems, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", "; ".join(map(str, problems)) if isinstance(
                problems, list) else str(problems)


class OperatorCommands(click.Group):
    """Turns the failures an operator can expect (a platform not running, a broker that
    refuses) into a message and exit code 1, without a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except requests.HTTPError as exc:
            raise Refused(exc.response) from None
        except requests.RequestException as exc:
            raise click.ClickException(
                f"Cannot reach {exc.request.url if exc.request else 'the platform'}: is the "
                "platform running (make demo), and are the service URLs right?") from None
        except (OperationalError, AMQPError, ConnectionError) as exc:
            raise click.ClickException(
                f"RabbitMQ at {Connection(ctx.obj.amqp_uri).as_uri()}: {exc}") from None
        except PyMongoError as exc:
            # pymongo's message goes on to describe the whole topology: the start says it.
            raise click.ClickException(
                f"The database at {ctx.obj.mongo_uri}: {str(exc)[:160]}") from None


class Operator:
    """What every command shares: where the platform is, and how to speak to it."""

    def __init__(self, urls, token, amqp_uri, mongo_uri, database_prefix):
        self.urls = urls
        self.given_token = token
        self.amqp_uri = amqp_uri
        self.mongo_uri = mongo_uri
        self.database_prefix = database_prefix
        # Markup off: reasons and bodies from the bus contain brackets rich would eat.
        self.out = Console(markup=False, highlight=False)
        self.err = Console(stderr=True, markup=False, highlight=False)
        self._minted = self._zone = None

    def token(self):
        if self.given_token:
            return self.given_token
        if self._minted is None:
            if not (os.environ.get("AUTH_SIGNING_KEY") or infra.LOCAL_KEYS.exists()):
                raise click.ClickException(
                    "No token: pass --token or set GRID_TOKEN (sign in with POST /auth/token on "
                    "the grid service), or run where the signing key is (AUTH_SIGNING_KEY, or "
                    f"{infra.LOCAL_KEYS} as make demo leaves it).")
            self._minted = operator_token()
        return self._minted

    def call(self, service, method, path, auth=True, **kwargs):
        headers = {"Authorization": f"Bearer {self.token()}"} if auth else {}
        response = requests.request(method, self.urls[service] + path, headers=headers,
                                    timeout=30, **kwargs)
        if response.status_code >= 400:
            raise Refused(response)
        return response.json()

    def zone(self):
        """The city's time zone, as its working calendar has it: days are the city's days."""
        if self._zone is None:
            self._zone = ZoneInfo(self.call("grid", "GET", "/calendar", auth=False)["timezone"])
        return self._zone

    def instant(self, moment, end=False):
        """An ISO time in UTC, as the platform stores and compares times (as text). A day
        starts at the city's midnight and, as an end, runs to the next one."""
        if isinstance(moment, datetime):
            return moment.astimezone(UTC).isoformat()
        day = moment + timedelta(days=1) if end else moment
        return datetime.combine(day, time(), self.zone()).astimezone(UTC).isoformat()

    def local(self, iso):
        return datetime.fromisoformat(iso).astimezone(self.zone()).strftime(SHORT)


class Moment(click.ParamType):
    """A day (2026-11-23) or a time with its offset (2026-11-23T09:00+08:00)."""

    name = "DATE|TIME"

    def convert(self, value, param, ctx):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is neither a date (2026-11-23) nor an ISO time "
                      "(2026-11-23T09:00+08:00)", param, ctx)
        if moment.tzinfo is None:
            self.fail(f"{value!r} has no offset, so it could be any zone's; add one, as in "
                      f"{value}+08:00, or give just the date", param, ctx)
        return moment


MOMENT = Moment()


def bars(console):
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console)


def service_url_options(command):
    for service in reversed(SERVICES):
        command = click.option(
            f"--{service}-url", f"{service}_url", envvar=f"{service.upper()}_URL",
            default=f"http://127.0.0.1:{DEMO_PORTS[service]}", show_default=True, show_envvar=True,
            help=f"The {service} service's HTTP API.")(command)
    return command


@click.group(cls=OperatorCommands, context_settings={"help_option_names": ["-h", "--help"],
                                                     "max_content_width": 100})
@service_url_options
@click.option("--token", envvar="GRID_TOKEN", show_envvar=True,
              help="A bearer token for the HTTP APIs. Without one, an administrator's token is "
                   "minted with the signing key, when this machine has it (AUTH_SIGNING_KEY, or "
                   ".data/keys.json as make demo leaves it).")
@click.option("--amqp-uri", envvar="AMQP_URI", default=infra.AMQP_URI, show_default=True,
              show_envvar=True, help="RabbitMQ: for events tail, dead-letters and replay.")
@click.option("--mongo-uri", envvar="MONGO_URI", show_envvar=True,
              default=f"mongodb://127.0.0.1:{infra.MONGO_PORT}/", show_default=True,
              help="The database: replay reads what each service published.")
@click.option("--database-prefix", envvar="DATABASE_PREFIX", default="", show_envvar=True,
              help="The prefix of the services' database names, as the services have it.")
@click.pass_context
def cli(ctx, token, amqp_uri, mongo_uri, database_prefix, **urls):
    """Operate the grid governance platform: seed it, raise and list petitions, watch its
    events, look after dead letters and replays, and report the three rates.

    Service URLs default to the demo's ports (make demo). Dates are the city's days, in
    the time zone of its working calendar (GET /calendar on the grid service)."""
    ctx.obj = Operator({name.removesuffix("_url"): url for name, url in urls.items()},
                       token, amqp_uri, mongo_uri, database_prefix)


# The demo city


@cli.command()
@click.pass_obj
def seed(operator):
    """Load the demo city into the running platform.

    Its registry, calendar, dispatch rules, volunteers, teams, morality bank, budgets and
    accounts, through the services' own APIs. Safe to run again."""
    with bars(operator.err) as progress:
        tasks = {}

        def step(stage, done, total):
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        try:
            summary = demo_city.seed(operator.urls, progress=step, token=operator.token())
        except RuntimeError as exc:
            raise click.ClickException(str(exc)) from None
    operator.out.print(f"The demo city is loaded: {summary['communities']} communities, "
                       f"{summary['grids']} grids, {summary['teams']} volunteer teams.")
    operator.out.print(f"The hotline's service account: client id hotline-12345, "
                       f"secret {summary['hotline_secret']}")


# Petitions


@cli.group()
def petitions():
    """Raise petitions, and list them as staff see them."""


def parse_attributes(ctx, param, values):
    """CODE=VALUE pairs as a dict; a code given more than once collects a list."""
    attributes = {}
    for value in values:
        code, equals, text = value.partition("=")
        if not (code and equals):
            raise click.BadParameter(f"{value!r} is not CODE=VALUE, as in severity=blocked")
        if code in attributes:
            previous = attributes[code]
            attributes[code] = [*previous, text] if isinstance(previous, list) else [previous, text]
        else:
            attributes[code] = text
    return attributes


@petitions.command("raise")
@click.option("--category", required=True,
              help="The category code, as GET /categories lists them: drains, sanitation, ...")
@click.option("--description", required=True, help="What is wrong, in the resident's words.")
@click.option("--lat", type=float, required=True, help="Where: latitude ...")
@click.option("--lng", type=float, required=True, help="... and longitude.")
@click.option("--address", help="Where, in words.")
@click.option("--grid", "grid_id", help="The grid, if known; otherwise found from the point.")
@click.option("--attribute", "attributes", multiple=True, metavar="CODE=VALUE",
              callback=parse_attributes,
              help="A detail the category asks for (repeatable; a code given twice makes a list).")
@click.option("--channel", type=click.Choice(CHANNELS),
              help="How it came in; the platform's default is online_platform.")
@click.option("--name", help="The reporter's name.")
@click.option("--phone", help="The reporter's phone, to be answered (kept sealed).")
@click.option("--email", help="The reporter's e-mail, to be answered (kept sealed).")
@click.option("--anonymous", is_flag=True,
              help="The reporter gives no name (a phone or e-mail still lets staff answer).")
@click.pass_obj
def raise_petition(operator, category, description, lat, lng, address, grid_id, attributes,
                   channel, name, phone, email, anonymous):
    """Raise a petition, as staff who took it in person or on the phone."""
    reporter = {"name": name, "phone": phone, "email": email, "anonymous": anonymous}
    body = {"category": category, "description": description, "attributes": attributes,
            "location": {"lat": lat, "lng": lng, "address": address}, "grid_id": grid_id,
            "channel": channel, "reporter": {k: v for k, v in reporter.items() if v is not None}}
    petition = operator.call("petition", "POST", "/petitions",
                             json={k: v for k, v in body.items() if v is not None})
    operator.out.print(f"{petition['id']}  raised in grid {petition['grid_id']} "
                       f"(community {petition['community_id']}), now {petition['state']}")


def petitions_table(title, rows, description_width=None):
    # Borderless, so the six columns that matter fit a terminal of 80 columns.
    table = Table(title=title, box=None, pad_edge=False)
    for heading in ("id", "raised", "grid", "category", "state", "finish by"):
        table.add_column(heading, no_wrap=True)
    if description_width:
        table.add_column("description", no_wrap=True, overflow="ellipsis",
                         max_width=description_width)
    for row in rows:
        table.add_row(*row)
    return table


@petitions.command("list")
@click.option("--grid", "grid_id", help="Only this grid's.")
@click.option("--community", "community_id", help="Only this community's.")
@click.option("--state", type=click.Choice(STATES), help="Only petitions in this state.")
@click.option("--category", help="Only this category's.")
@click.option("--overdue", is_flag=True, help="Only those past their finish deadline.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True,
              help="At most this many, newest first (following the pages as needed).")
@click.option("--page-size", type=click.IntRange(1, 200), default=50, show_default=True,
              help="Petitions per request.")
@click.pass_obj
def list_petitions(operator, grid_id, community_id, state, category, overdue, limit, page_size):
    """The petitions the token may see, newest first, as a table."""
    query = {"grid_id": grid_id, "community_id": community_id, "state": state,
             "category": category, "overdue": "true" if overdue else None}
    query = {k: v for k, v in query.items() if v is not None}
    found, cursor = [], None
    while True:
        page = operator.call("petition", "GET", "/staff/petitions", params={
            **query, "limit": min(page_size, limit - len(found)),
            **({"cursor": cursor} if cursor else {})})
        found += page["petitions"]
        cursor = page["next_cursor"]
        if cursor is None or len(found) >= limit:
            break
    if not found:
        operator.out.print("No petitions match.")
        return
    title = f"Petitions, newest first (times in {operator.zone()})"
    rows = [(p["id"], operator.local(p["raised_at"]), p["grid_id"], p["category"], p["state"],
             operator.local(p["finish_by"]) if p.get("finish_by") else "") for p in found]
    table = petitions_table(title, rows)
    # The description only where it fits: rich would otherwise shorten every column,
    # ids included, to make room for it.
    room = operator.out.width - operator.out.measure(table).maximum - 2
    if room >= 12:
        table = petitions_table(title, [(*row, p["description"])
                                        for row, p in zip(rows, found, strict=True)], room)
    operator.out.print(table)
    if cursor:
        operator.out.print(f"More match than these {len(found)}: raise --limit to see them.")


# The event stream


@cli.group("events")
def events_group():
    """The live event stream."""


def routes(patterns):
    """(producer, routing key) to bind: every exchange whole, or the catalogue's types that
    match the patterns, each on the exchange of the service that publishes it."""
    if not patterns:
        return [(producer, "#") for producer in PRODUCERS]
    chosen = sorted({(e.producer, e.type) for e in CATALOGUE
                     if any(fnmatchcase(e.type, pattern) for pattern in patterns)})
    if not chosen:
        raise click.BadParameter(f"no event type in the catalogue matches {' '.join(patterns)} "
                                 "(see the README's event catalogue)", param_hint="--type")
    return chosen


def body_text(body):
    return body.decode(errors="replace") if isinstance(body, bytes) else str(body)


def event_line(message):
    """time, type, subject, correlation id; what is not an event is shown as such."""
    try:
        event = json.loads(message.body)
        at = datetime.fromisoformat(event["time"]).astimezone(UTC)
        return Text.assemble((at.isoformat(timespec="milliseconds"), "dim"), "  ",
                             (f"{event['type']:<{TYPE_WIDTH}}", "bold cyan"), "  ",
                             f"{event.get('subject') or '-':<16}", "  ",
                             (f"correlation {event['correlationid']}", "dim"))
    except (ValueError, KeyError, TypeError):
        return Text(f"not an event, on {message.delivery_info.get('exchange')} "
                    f"{message.delivery_info.get('routing_key')}: "
                    f"{body_text(message.body)[:200]!r}", style="red")


@events_group.command()
@click.option("--type", "patterns", multiple=True, metavar="PATTERN",
              help="Only event types matching this shell-style pattern, e.g. 'petition.*' "
                   "(repeatable). Without it, everything on every service's exchange.")
@click.pass_obj
def tail(operator, patterns):
    """Print each event as it is published, until Ctrl-C.

    One line per event: time (UTC), type, subject, correlation id. The tail reads from
    a queue of its own, gone when it stops, so it takes nothing from the services."""
    chosen = routes(patterns)
    queue = Queue(f"tools.cli.tail.{uuid.uuid4().hex[:12]}", durable=False, exclusive=True,
                  auto_delete=True, bindings=[binding(event_exchange(producer), routing_key=key)
                                              for producer, key in chosen])

    def show(message):
        operator.out.print(event_line(message), soft_wrap=True)

    with Connection(operator.amqp_uri) as connection, \
            connection.Consumer(queue, on_message=show, no_ack=True):
        exchanges = sorted({f"{producer}.events" for producer, _ in chosen})
        operator.err.print(f"Tailing {' '.join(patterns) or 'every event'} on "
                           f"{', '.join(exchanges)}; Ctrl-C stops.")
        try:
            while True:
                connection.drain_events()
        except KeyboardInterrupt:
            pass


# Dead letters and replay


@cli.group("dead-letters")
def dead_letters_group():
    """Messages no handler could take: list, show, republish.

    Each has the reason and the queue it came from. Numbers count from the oldest;
    republishing renumbers the rest."""


@dead_letters_group.command("list")
@click.pass_obj
def list_dead_letters(operator):
    """List them (they stay where they are)."""
    found = events.dead_letters(operator.amqp_uri)
    if not found:
        operator.out.print("No dead letters.")
        return
    table = Table(title=f"Dead letters, oldest first: {len(found)}")
    table.add_column("#", justify="right")
    table.add_column("queue", no_wrap=True)
    table.add_column("reason", overflow="fold")
    for number, reason, queue, _ in found:
        table.add_row(str(number), queue, reason[:300])
    operator.out.print(table)


@dead_letters_group.command("show")
@click.argument("number", type=click.IntRange(min=1))
@click.pass_obj
def show_dead_letter(operator, number):
    """Print one whole: its queue, its reason and its body."""
    found = {n: (reason, queue, body) for n, reason, queue, body in
             events.dead_letters(operator.amqp_uri)}
    if number not in found:
        raise click.ClickException(f"No dead letter {number}; there are {len(found)}.")
    reason, queue, body = found[number]
    text = body_text(body)
    try:
        text = json.dumps(json.loads(text), ensure_ascii=False, indent=2)
    except ValueError:
        pass  # not JSON (often why it is here): shown as it came
    operator.out.print(f"queue:  {queue}\nreason: {reason}\nbody:\n{text}", soft_wrap=True)


@dead_letters_group.command("republish")
@click.argument("numbers", nargs=-1, type=click.IntRange(min=1))
@click.option("--all", "every", is_flag=True, help="Every dead letter.")
@click.pass_obj
def republish(operator, numbers, every):
    """Put dead letters back on the queues they came from, once the cause is fixed (each
    is confirmed by the broker before it leaves the dead letters)."""
    if bool(numbers) == every:
        raise click.UsageError("Give the numbers `dead-letters list` shows, or --all.")
    found = events.dead_letters(operator.amqp_uri, set(numbers), every)
    chosen = {n: queue for n, _, queue, _ in found if every or n in numbers}
    for number, queue in chosen.items():
        operator.out.print(f"{number}  back on {queue}")
    operator.out.print(f"Republished {len(chosen)}.")
    missing = sorted(set(numbers) - set(chosen))
    if missing:
        raise click.ClickException(f"No dead letter {', '.join(map(str, missing))}; there were "
                                   f"{len(found)}.")


def check_type(ctx, param, value):
    if value is None:
        return value
    if value not in CATALOGUE.by_type:
        raise click.BadParameter(f"{value!r} is not in the event catalogue")
    producer, service = CATALOGUE.producer_of(value), ctx.params["service"]
    if producer != service:
        raise click.BadParameter(f"{value} is published by {producer}, not {service}")
    return value


@cli.command()
@click.argument("service", type=click.Choice(PRODUCERS), is_eager=True)
@click.option("--since", required=True, type=MOMENT, help="From this day (or time) on.")
@click.option("--until", type=MOMENT, help="To the end of this day (or before this time).")
@click.option("--type", "event_type", callback=check_type,
              help="Only events of this type, e.g. petition.dispatched.v1 for grid.")
@click.pass_obj
def replay(operator, service, since, until, event_type):
    """Publish a service's past events again.

    What SERVICE published in the period, oldest first, for a subscriber that missed
    them. They keep their ids, so whoever handled one already skips it."""
    with bars(operator.err) as progress:
        task = progress.add_task(f"replaying {service}'s events", total=None)
        count = events.replay(
            operator.amqp_uri, operator.mongo_uri, operator.database_prefix, service,
            operator.instant(since), operator.instant(until, end=True) if until else None,
            event_type, progress=lambda done, total: progress.update(task, completed=done,
                                                                     total=total))
    operator.out.print(f"Replayed {count} events of {service}.")


# Reports


@cli.group()
def report():
    """Figures from the platform."""


RATES = (  # rate, share, count, of, what the count is
    ("response", "response_rate", "acknowledged_on_time", "dispatched", "acknowledged on time"),
    ("resolution", "resolution_rate", "resolved", "dispatched", "resolved"),
    ("satisfaction", "satisfaction_rate", "satisfied", "rated", "satisfied"),
)


@report.command("rates")
@click.option("--area", "area_id", help="A grid, workstation, community, sub-district or "
                                        "district id; without it, all the token's grids.")
@click.option("--from", "start", type=MOMENT, help="Petitions raised from this day (or time).")
@click.option("--to", "end", type=MOMENT,
              help="... to the end of this day (or before this time).")
@click.pass_obj
def rates(operator, area_id, start, end):
    """The three rates (三率) of an area and period.

    Response, resolution and satisfaction of the petitions raised in the period, each
    with the counts it comes from."""
    query = {"area_id": area_id, "from": start and operator.instant(start),
             "to": end and operator.instant(end, end=True)}
    figures = operator.call("petition", "GET", "/figures/rates",
                            params={k: v for k, v in query.items() if v})
    period = " ".join(f"{word} {moment}" for word, moment in (("from", start), ("to", end))
                      if moment) or "ever"
    days = f" ({operator.zone()})" if any(type(m) is date for m in (start, end)) else ""
    table = Table(title=f"The three rates: {area_id or 'all grids'}, petitions raised "
                        f"{period}{days}")
    table.add_column("rate")
    table.add_column("share", justify="right")
    table.add_column("from the counts")
    for name, share, count, of, what in RATES:
        table.add_row(name, "—" if figures[share] is None else f"{figures[share]:.1%}",
                      f"{figures[count]} {what} of {figures[of]} {of}")
    operator.out.print(table)


if __name__ == "__main__":
    cli(prog_name="python -m tools.cli")
