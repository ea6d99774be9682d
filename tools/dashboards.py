"""The Grafana dashboards in deploy/grafana/dashboards, written from this one description.

    python -m tools.dashboards           lists the dashboards and their panels
    python -m tools.dashboards --write   writes the JSON files (a test keeps them in step)

Panels query the services' own metrics (shared/observability.py and each service's
metrics.py) and the RabbitMQ metrics below, which the broker's Prometheus plugin
exposes per queue at :15692/metrics/per-object. Gauges are exported by every replica
of a service, each with the same value, so panels take ``max`` over them, never ``sum``.
"""

import json
import sys
from pathlib import Path

DASHBOARDS = Path(__file__).resolve().parents[1] / "deploy" / "grafana" / "dashboards"

# What the panels read from RabbitMQ's rabbitmq_prometheus plugin (per object: labels
# vhost and queue). The dashboards' test accepts these names beside the services' own.
RABBITMQ_METRICS = {
    "rabbitmq_queue_messages": "Messages in a queue, ready and unacknowledged: its depth",
    "rabbitmq_queue_messages_ready": "Messages waiting for a consumer",
    "rabbitmq_queue_messages_unacked": "Messages delivered to a handler and not yet acked",
    "rabbitmq_queue_consumers": "Consumers on a queue (0 on an evt- queue: a service is down)",
}

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
# The consumers' own queues, without their retry queues (<queue>.retry.<n>).
EVENT_QUEUES = 'vhost=~"$vhost", queue=~"evt-.*", queue!~".*[.]retry[.].*"'
RETRY_QUEUES = 'vhost=~"$vhost", queue=~".*[.]retry[.].*"'
DEAD_LETTERS = 'vhost=~"$vhost", queue="dead-letters"'
GRIDS = 'grid=~"$grid"'


def query(expr, legend="", instant=False):
    target = {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend or "__auto"}
    if instant:
        target.update(instant=True, range=False, format="table")
    return target


def panel(title, description, targets, kind="timeseries", unit="short", width=12, height=8,
          **options):
    """A panel; ``options`` go to its options, ``fieldConfig`` defaults merged in."""
    defaults = {"unit": unit, **options.pop("defaults", {})}
    for number, target in enumerate(targets):
        target["refId"] = chr(ord("A") + number)
    built = {"type": kind, "title": title, "description": description,
             "datasource": DATASOURCE, "targets": targets,
             "fieldConfig": {"defaults": defaults, "overrides": []},
             "gridPos": {"w": width, "h": height}}
    if kind == "timeseries":
        built["options"] = {"legend": {"displayMode": "table", "placement": "right",
                                       "calcs": ["lastNotNull", "max"]},
                            "tooltip": {"mode": "multi", "sort": "desc"}}
    if kind == "bargauge":
        built["options"] = {"displayMode": "gradient", "orientation": "horizontal",
                            "showUnfilled": True,
                            "reduceOptions": {"calcs": ["lastNotNull"], "values": False}}
    if kind == "stat":
        built["options"] = {"colorMode": "value", "graphMode": "area",
                            "reduceOptions": {"calcs": ["lastNotNull"], "values": False}}
    if kind == "table":
        # Instant queries give each value column a name by query ("Value #A"), or "Value"
        # alone; the legend names it instead.
        column = "Value" if len(targets) == 1 else "Value #{}"
        built["options"] = {"showHeader": True}
        built["transformations"] = [
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {"excludeByName": {"Time": True}, "renameByName": {
                column.format(t["refId"]): t["legendFormat"] for t in targets}}}]
    built.setdefault("options", {}).update(options)
    return built


def row(title):
    return {"type": "row", "title": title, "collapsed": False, "panels": [],
            "gridPos": {"w": 24, "h": 1}}


def rate_thresholds():
    return {"thresholds": {"mode": "absolute", "steps": [
        {"color": "red", "value": None}, {"color": "orange", "value": 0.8},
        {"color": "green", "value": 0.95}]}, "min": 0, "max": 1}


def variable(name, label, metric_query, multi=True):
    return {"name": name, "label": label, "type": "query", "datasource": DATASOURCE,
            "query": {"query": metric_query, "refId": name}, "definition": metric_query,
            "refresh": 2, "includeAll": True, "multi": multi, "allValue": ".*",
            "current": {"text": "All", "value": "$__all"}, "sort": 1}


DATASOURCE_VARIABLE = {"name": "datasource", "label": "Prometheus", "type": "datasource",
                       "query": "prometheus", "current": {}, "hide": 0}


def flow_and_rates():
    per_hour = "sum by ({by}) (increase({metric}{{" + GRIDS + "}}[1h]))"
    panels = [
        row("Flow of petitions"),
        panel("Raised, dispatched and resolved per hour",
              "Petitions raised (petitions_raised_total), dispatch rounds the petition service "
              "recorded (petitions_dispatched_total) and petitions resolved "
              "(petitions_resolved_total) in the hour before each point, in the chosen grids.",
              [query(f'sum(increase(petitions_raised_total{{{GRIDS}}}[1h]))', "raised"),
               query(f'sum(increase(petitions_dispatched_total{{{GRIDS}}}[1h]))', "dispatched"),
               query(f'sum(increase(petitions_resolved_total{{{GRIDS}}}[1h]))', "resolved")],
              width=24),
        panel("Raised per hour by grid", "Petitions raised in the hour before each point, by "
              "grid.", [query(per_hour.format(by="grid", metric="petitions_raised_total"),
                              "{{grid}}")]),
        panel("Raised per hour by category", "Petitions raised in the hour before each point, "
              "by category (drains, sanitation, ...).",
              [query(per_hour.format(by="category", metric="petitions_raised_total"),
                     "{{category}}")]),
        panel("Resolved per hour by grid", "Petitions their handler resolved in the hour "
              "before each point, by grid.",
              [query(per_hour.format(by="grid", metric="petitions_resolved_total"),
                     "{{grid}}")]),
        panel("Resolved per hour by category", "Petitions resolved in the hour before each "
              "point, by category.",
              [query(per_hour.format(by="category", metric="petitions_resolved_total"),
                     "{{category}}")]),
        panel("Raised and resolved by grid and category, over the dashboard's range",
              "One line per grid and category: what came in and what was resolved in the "
              "time range picked at the top.",
              [query(f'sum by (grid, category) (increase(petitions_raised_total{{{GRIDS}}}'
                     '[$__range]))', "raised", instant=True),
               query(f'sum by (grid, category) (increase(petitions_resolved_total{{{GRIDS}}}'
                     '[$__range]))', "resolved", instant=True)],
              kind="table", width=24, height=9),
        row("The three rates (三率) of the petitions first dispatched this month (the grid "
            "service's evaluation)"),
        *[panel(f"{name.capitalize()} rate by grid", f"{meaning} Per grid; a grid with "
                "nothing to count has no bar.",
                [query(f'max by (id) (evaluation_{name}_rate{{by="grid", id=~"$grid"}})',
                       "{{id}}")],
                kind="bargauge", unit="percentunit", width=8, height=12,
                defaults=rate_thresholds())
          for name, meaning in (
              ("response", "Dispatched petitions acknowledged within their time limit."),
              ("resolution", "Dispatched petitions whose resolution stands (not reopened "
                             "or overturned by a spot check)."),
              ("satisfaction", "Rated petitions whose last rating was satisfied."))],
        *[panel(f"The three rates by {by}", f"Response, resolution and satisfaction per {by} "
                f"({how}).",
                [query(f'max by (id) (evaluation_{name}_rate{{by="{by}"}})', f"{{{{id}}}} {name}")
                 for name in ("response", "resolution", "satisfaction")],
                kind="bargauge", unit="percentunit", width=12, height=10,
                defaults=rate_thresholds())
          for by, how in (("community", "all its grids' petitions together"),
                          ("department", "each round it paid for, or handled"))],
        panel("What each rate is over", "How many petitions (rounds, for a department) each "
              "rate counts (dispatched for response and resolution, rated for satisfaction): "
              "a rate over 2 petitions says little.",
              [query('max by (rate, by, id) (evaluation_rate_base)', "petitions",
                     instant=True)],
              kind="table", width=24, height=8),
        row("Open work, overdue and supervised (督办)"),
        panel("Open", "Petitions dispatched and not yet resolved, in the chosen grids.",
              [query(f'sum(max by (grid) (petitions_open{{{GRIDS}}}))', "open")],
              kind="stat", width=6, height=5),
        panel("Overdue", "Open petitions past their finish deadline.",
              [query(f'sum(max by (grid) (petitions_overdue{{{GRIDS}}}))', "overdue")],
              kind="stat", width=6, height=5,
              defaults={"color": {"mode": "thresholds"}, "thresholds": {"mode": "absolute",
                        "steps": [{"color": "green", "value": None},
                                  {"color": "red", "value": 1}]}}),
        panel("Under supervision (督办)", "Open petitions escalated: overdue, escalated by "
              "staff, or held up by a budget line that cannot pay.",
              [query(f'sum(max by (grid) (petitions_under_supervision{{{GRIDS}}}))',
                     "under supervision")],
              kind="stat", width=6, height=5),
        panel("Escalations per hour", "The dispatcher's escalations (督办) one level up: 1 to "
              "the grid workstation, 2 to the sub-district (grid_escalations_total).",
              [query(f'sum by (level) (increase(grid_escalations_total{{{GRIDS}}}[1h]))',
                     "level {{level}}")],
              kind="stat", width=6, height=5),
        panel("Open by grid (busiest 15)", "Open petitions in the 15 busiest grids.",
              [query(f'topk(15, max by (grid) (petitions_open{{{GRIDS}}}))', "{{grid}}")],
              kind="bargauge", width=8, height=10),
        panel("Overdue by grid", "Open petitions past their finish deadline, by grid.",
              [query(f'topk(15, max by (grid) (petitions_overdue{{{GRIDS}}}) > 0)', "{{grid}}")],
              kind="bargauge", width=8, height=10),
        panel("Under supervision by grid", "Open petitions under supervision (督办), by grid.",
              [query(f'topk(15, max by (grid) (petitions_under_supervision{{{GRIDS}}}) > 0)',
                     "{{grid}}")],
              kind="bargauge", width=8, height=10),
        panel("Returns and escalations per hour by grid", "Orders returned by their handler "
              "(退单, grid_returns_total) and escalated by the dispatcher's clocks "
              "(grid_escalations_total) in the hour before each point.",
              [query(f'sum by (grid) (increase(grid_returns_total{{{GRIDS}}}[1h]))',
                     "{{grid}} returned"),
               query(f'sum by (grid) (increase(grid_escalations_total{{{GRIDS}}}[1h]))',
                     "{{grid}} escalated")], width=24),
    ]
    return dashboard("grid-governance-petitions", "Grid governance: petitions, three rates, "
                     "open work", panels,
                     [variable("grid", "Grid", "label_values(petitions_raised_total, grid)")])


def money_and_volunteers():
    yuan = "/ 100"
    panels = [
        row("Funds follow the task (费随事转)"),
        panel("On hold now by department", "Money committed to open orders: held when an "
              "order is dispatched, until it is paid out or released (funding_on_hold_fen).",
              [query(f'sum by (department) (max by (department, budget_line) '
                     f'(funding_on_hold_fen)) {yuan}', "{{department}}")],
              kind="bargauge", unit="prefix:¥", width=12, height=8),
        panel("Settled over the range by department and budget line", "Money paid to the "
              "community service centres for completed orders in the chosen time range.",
              [query(f'sum by (department, budget_line) (increase(funding_settled_fen_total'
                     f'[$__range])) {yuan}', "settled", instant=True)],
              kind="table", unit="prefix:¥", width=12, height=8),
        panel("Held per day by department", "Money put on hold for dispatched orders in the "
              "day before each point.",
              [query(f'sum by (department) (increase(funding_held_fen_total[1d])) {yuan}',
                     "{{department}}")], unit="prefix:¥", width=8),
        panel("Settled per day by department", "Money paid to community service centres in "
              "the day before each point.",
              [query(f'sum by (department) (increase(funding_settled_fen_total[1d])) {yuan}',
                     "{{department}}")], unit="prefix:¥", width=8),
        panel("Released per day by department", "Holds given back to their budget line "
              "(orders returned, reopened or rejected) in the day before each point.",
              [query(f'sum by (department) (increase(funding_released_fen_total[1d])) {yuan}',
                     "{{department}}")], unit="prefix:¥", width=8),
        row("Volunteer hours (the morality bank)"),
        panel("Hours deposited per day by community", "Hours of verified volunteer work "
              "deposited in the morality bank in the day before each point.",
              [query('sum by (community) (increase(volunteer_hours_deposited_total[1d]))',
                     "{{community}}")], unit="suffix: h"),
        panel("Hours deposited over the range by category", "Hours of verified work in the "
              "chosen time range, by the kind of petition the work answered.",
              [query('sum by (category) (increase(volunteer_hours_deposited_total'
                     '[$__range]))', "{{category}}")],
              kind="bargauge", unit="suffix: h"),
    ]
    return dashboard("grid-governance-money", "Grid governance: funds and volunteer hours",
                     panels, [])


def pipeline():
    quantile = ('histogram_quantile({q}, sum by (le, {by}) '
                '(rate({metric}_bucket{selector}[5m])))')
    panels = [
        row("RabbitMQ: queues and dead letters"),
        panel("Dead letters", "Messages parked in the dead-letters queue: they will not be "
              "handled until an operator republishes them (python -m tools.events "
              "dead-letters).",
              [query(f'sum(rabbitmq_queue_messages{{{DEAD_LETTERS}}})', "dead letters")],
              kind="stat", width=6, height=5,
              defaults={"color": {"mode": "thresholds"}, "thresholds": {"mode": "absolute",
                        "steps": [{"color": "green", "value": None},
                                  {"color": "red", "value": 1}]}}),
        panel("Waiting in the event queues", "Messages in the handlers' queues, ready and "
              "unacknowledged; a depth that keeps growing means a handler cannot keep up.",
              [query(f'sum(rabbitmq_queue_messages{{{EVENT_QUEUES}}})', "in queues")],
              kind="stat", width=6, height=5),
        panel("Waiting to be retried", "Messages in the retry queues, waiting out their "
              "backoff after a handler failed (EVENT_RETRY_DELAYS).",
              [query(f'sum(rabbitmq_queue_messages{{{RETRY_QUEUES}}})', "retrying")],
              kind="stat", width=6, height=5),
        panel("Queues without a consumer", "Handlers' queues with no consumer: the service "
              "that reads them is down (its messages wait, nothing is lost).",
              [query(f'count(max by (queue) (rabbitmq_queue_consumers{{{EVENT_QUEUES}}}) '
                     '== 0) or vector(0)', "queues")],
              kind="stat", width=6, height=5),
        panel("Queue depth by queue", "Ready and unacknowledged messages per handler queue "
              "(evt-<producer>-<event type>--<service>.<handler>).",
              [query(f'sum by (queue) (rabbitmq_queue_messages{{{EVENT_QUEUES}}}) > 0',
                     "{{queue}}")], width=24, height=9),
        panel("Ready and unacknowledged", "Ready: waiting for a consumer; unacknowledged: "
              "being handled now.",
              [query(f'sum(rabbitmq_queue_messages_ready{{{EVENT_QUEUES}}})', "ready"),
               query(f'sum(rabbitmq_queue_messages_unacked{{{EVENT_QUEUES}}})', "unacked")]),
        panel("Handled, retried and dead-lettered per minute", "Event handlers' outcomes "
              "(events_handled_total): a retry is a handler that failed and will try again.",
              [query('sum by (outcome) (rate(events_handled_total[5m])) * 60', "{{outcome}}")]),
        panel("Dead-lettered per hour by event and handler", "Which events could not be "
              "handled, and where: see the x-reason header of each dead letter.",
              [query('sum by (type, handler) (increase(events_handled_total'
                     '{outcome="dead_lettered"}[1h])) > 0', "{{type}} → {{handler}}")]),
        panel("Published per minute by event type", "Events relayed from the services' "
              "outboxes to the broker (events_published_total); outbox relay failures mean "
              "the broker or the database could not be reached.",
              [query('sum by (type) (rate(events_published_total[5m])) * 60', "{{type}}"),
               query('sum(rate(outbox_relay_failures_total[5m])) * 60', "relay failures")]),
        row("Latency of each hop"),
        *[panel(f"Event hop latency p{label} by event type", "From an event's creation to "
                f"its handler finishing (event_delivery_seconds), the {label}th percentile "
                "over 5 minutes: one hop of the pipeline.",
                [query(quantile.format(q=q, by="type", metric="event_delivery_seconds",
                                       selector=""), "{{type}}")], unit="s")
          for q, label in ((0.5, "50"), (0.99, "99"))],
        *[panel(f"HTTP latency p{label} by route", "Time to answer a request "
                f"(http_request_seconds), the {label}th percentile over 5 minutes, by "
                "service (job) and route.",
                [query(quantile.format(q=q, by="job, method, route",
                                       metric="http_request_seconds", selector=""),
                       "{{job}} {{method}} {{route}}")], unit="s")
          for q, label in ((0.5, "50"), (0.99, "99"))],
        panel("HTTP answers per second by status", "Requests answered (http_requests_total), "
              "by status: 4xx are callers' mistakes (or refusals), 5xx are ours.",
              [query('sum by (status) (rate(http_requests_total[5m]))', "{{status}}")],
              width=24),
    ]
    return dashboard("grid-governance-pipeline", "Grid governance: queues, dead letters, "
                     "latency", panels,
                     [variable("vhost", "RabbitMQ vhost",
                               "label_values(rabbitmq_queue_messages, vhost)")])


def dashboard(uid, title, panels, variables):
    return {"uid": uid, "title": title, "tags": ["grid-governance"], "timezone": "browser",
            "schemaVersion": 39, "version": 1, "editable": True, "graphTooltip": 1,
            "refresh": "30s", "time": {"from": "now-24h", "to": "now"},
            "templating": {"list": [DATASOURCE_VARIABLE, *variables]},
            "annotations": {"list": []}, "panels": laid_out(panels)}


def laid_out(panels):
    """Ids and positions: panels fill rows of 24 columns left to right, in order."""
    x = y = row_height = 0
    for number, built in enumerate(panels, 1):
        place = built["gridPos"]
        if x + place["w"] > 24 or built["type"] == "row":
            x, y, row_height = 0, y + row_height, 0
        place.update(x=x, y=y)
        built["id"] = number
        x, row_height = x + place["w"], max(row_height, place["h"])
    return panels


def dashboards():
    """File name -> dashboard."""
    return {f"{built['uid']}.json": built
            for built in (flow_and_rates(), money_and_volunteers(), pipeline())}


def write(directory=DASHBOARDS):
    directory.mkdir(parents=True, exist_ok=True)
    for name, built in dashboards().items():
        (directory / name).write_text(text(built), encoding="utf-8")


def text(built):
    return json.dumps(built, ensure_ascii=False, indent=2) + "\n"


if __name__ == "__main__":
    if "--write" in sys.argv:
        write()
        print(f"wrote {', '.join(dashboards())} to {DASHBOARDS}")
    else:
        for name, built in dashboards().items():
            print(f"{name}: {built['title']}")
            for item in built["panels"]:
                print(f"  {'==' if item['type'] == 'row' else '  '} {item['title']}")
