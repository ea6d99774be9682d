"""The Grafana dashboards: valid JSON, as tools.dashboards writes them, every panel titled, and
every PromQL expression reading only metrics the services define or RabbitMQ's plugin exports."""

import json
import re

import pytest
from prometheus_client import REGISTRY

import services.funding.service  # noqa: F401 - importing a service registers its metrics
import services.grid.service  # noqa: F401
import services.petition.service  # noqa: F401
import services.volunteer.service  # noqa: F401
from tools.dashboards import DASHBOARDS, RABBITMQ_METRICS, dashboards, text

FILES = sorted(DASHBOARDS.glob("*.json"))
KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}
STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
NAME = re.compile(r"(?<![\w.$:])([a-zA-Z_:][a-zA-Z0-9_:]*+)(?!\s*\()")
LABEL_VALUES = re.compile(r"^label_values\((?:(.*),)?\s*\w+\s*\)$")


def metric_names(expr):
    """The metric names an expression reads: what is left once strings, label matchers,
    ranges, grouping labels, Grafana variables, function names and keywords are gone."""
    expr = STRINGS.sub('""', expr)
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", expr)
    expr = GROUPING.sub(" ", expr)
    expr = re.sub(r"\$\{?\w+\}?", " ", expr)
    return {name for name in NAME.findall(expr) if name.lower() not in KEYWORDS}


def defined_names():
    """Every sample name the services' registry can expose (a counter's _total, a
    histogram's _bucket, ...), whether or not it has a sample yet."""
    suffixes = {"counter": ("_total", "_created"), "gauge": ("",),
                "histogram": ("_bucket", "_count", "_sum", "_created"),
                "summary": ("", "_count", "_sum", "_created"), "info": ("_info",)}
    return {family.name + suffix for family in REGISTRY.collect()
            for suffix in suffixes.get(family.type, ("",))}


def expressions(dashboard):
    for panel in dashboard["panels"]:
        for target in panel.get("targets", ()):
            yield panel["title"], target["expr"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            selector = LABEL_VALUES.match(variable["query"]["query"]).group(1) or ""
            yield f"variable {variable['name']}", selector


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_metric_name_parser_finds_metrics_not_functions_labels_or_keywords():
    expr = ('histogram_quantile(0.99, sum by (le, type) (rate(event_delivery_seconds_bucket'
            '{type=~"petition.*", queue!~".*[.]retry"}[5m]))) / ignoring(x) '
            'up offset 5m or on (job) vector(0) > bool 1e3 and $__range')
    assert metric_names(expr) == {"event_delivery_seconds_bucket", "up"}


def test_the_dashboard_files_are_the_ones_tools_dashboards_writes():
    assert {path.name: path.read_text(encoding="utf-8") for path in FILES} == \
        {name: text(built) for name, built in dashboards().items()}, \
        "regenerate with: python -m tools.dashboards --write"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_each_dashboard_is_valid_json_with_a_uid_and_a_title(path):
    dashboard = load(path)
    assert dashboard["uid"] and dashboard["title"] and dashboard["panels"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_panel_has_a_title_and_every_chart_a_query(path):
    for panel in load(path)["panels"]:
        assert panel.get("title", "").strip(), f"untitled panel {panel.get('id')}"
        if panel["type"] != "row":
            assert panel["targets"] and all(t["expr"].strip() for t in panel["targets"]), \
                panel["title"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_expression_reads_only_metrics_the_code_defines_or_rabbitmq_exports(path):
    known = defined_names() | set(RABBITMQ_METRICS)
    unknown = {(where, name) for where, expr in expressions(load(path))
               for name in metric_names(expr) - known}
    assert not unknown, f"metrics nobody exports: {sorted(unknown)}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_panels_do_not_overlap(path):
    taken = set()
    for panel in load(path)["panels"]:
        place = panel["gridPos"]
        cells = {(x, y) for x in range(place["x"], place["x"] + place["w"])
                 for y in range(place["y"], place["y"] + place["h"])}
        assert place["x"] + place["w"] <= 24 and not cells & taken, panel["title"]
        taken |= cells
