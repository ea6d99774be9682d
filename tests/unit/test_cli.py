"""The operator CLI's own rules, without a platform: where its token comes from, what
its dates mean, what a tail binds, and how failures read."""

import json
from datetime import date, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import click
import pytest
from click.testing import CliRunner

from tools import cli, infra

NOWHERE = "http://127.0.0.1:1"  # nothing listens: any request fails at once


def test_without_a_token_or_the_signing_key_it_says_where_to_get_one(monkeypatch, tmp_path):
    monkeypatch.setattr(infra, "LOCAL_KEYS", tmp_path / "keys.json")
    result = CliRunner(env={"GRID_TOKEN": None, "AUTH_SIGNING_KEY": None}).invoke(
        cli.cli, ["--petition-url", NOWHERE, "report", "rates"])
    assert result.exit_code == 1
    # Said before any request: the platform is not even reachable.
    assert "No token: pass --token or set GRID_TOKEN" in result.stderr
    assert not (tmp_path / "keys.json").exists()  # no key of its own made up


def test_an_unreachable_platform_is_a_message_not_a_traceback():
    result = CliRunner().invoke(cli.cli, ["--petition-url", NOWHERE, "--token", "t",
                                          "petitions", "list"])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert f"Cannot reach {NOWHERE}/staff/petitions" in result.stderr


def test_a_day_is_the_citys_day_sent_in_utc_and_as_an_end_it_runs_to_midnight(monkeypatch):
    monkeypatch.setattr(cli.Operator, "zone", lambda self: ZoneInfo("Asia/Shanghai"))
    operator = cli.Operator({}, "t", "", "", "")
    assert operator.instant(date(2026, 11, 24)) == "2026-11-23T16:00:00+00:00"
    assert operator.instant(date(2026, 11, 24), end=True) == "2026-11-24T16:00:00+00:00"
    # A time is itself, whatever zone it was given in.
    moment = cli.MOMENT.convert("2026-11-24T09:30+08:00", None, None)
    assert operator.instant(moment, end=True) == "2026-11-24T01:30:00+00:00"


def test_a_time_without_an_offset_is_refused():
    assert cli.MOMENT.convert("2026-11-24", None, None) == date(2026, 11, 24)
    assert isinstance(cli.MOMENT.convert("2026-11-24T09:30Z", None, None), datetime)
    result = CliRunner().invoke(cli.cli, ["report", "rates", "--from", "2026-11-24T09:30"])
    assert result.exit_code == 2
    assert "has no offset" in result.stderr


def test_a_tail_binds_each_matching_type_on_its_publishers_exchange_or_everything():
    assert cli.routes(("petition.dispatched.*",)) == [("grid", "petition.dispatched.v1")]
    assert cli.routes(("funds.settled.v1", "team.*")) == [("funding", "funds.settled.v1"),
                                                          ("volunteer", "team.registered.v1")]
    assert cli.routes(()) == [(producer, "#") for producer in
                              ("funding", "grid", "petition", "volunteer")]
    with pytest.raises(click.BadParameter, match="no event type in the catalogue matches"):
        cli.routes(("petitions.*",))


def test_a_refusal_names_each_field_by_its_path():
    problems = {"reporter": {"name": ["Give your name, or set anonymous to true."]},
                "attachments": {"0": {"url": ["Not a valid URL.", "Too long."]}}}
    assert list(cli.field_problems(problems)) == [
        ("reporter.name", "Give your name, or set anonymous to true."),
        ("attachments.0.url", "Not a valid URL.; Too long.")]


def test_an_attribute_given_more_than_once_is_a_list():
    assert cli.parse_attributes(None, None, ("severity=blocked", "waste_type=household",
                                             "waste_type=bulky", "note=a=b")) == {
        "severity": "blocked", "waste_type": ["household", "bulky"], "note": "a=b"}
    with pytest.raises(click.BadParameter, match="is not CODE=VALUE"):
        cli.parse_attributes(None, None, ("severity",))


def test_a_tail_line_is_time_in_utc_type_subject_correlation_and_junk_is_said_to_be_junk():
    def message(body):
        return SimpleNamespace(body=body, delivery_info={"exchange": "petition.events",
                                                         "routing_key": "petition.raised.v1"})

    event = {"time": "2026-11-24T09:30:00.123456+08:00", "type": "petition.raised.v1",
             "subject": "P-3f9a1c2b7d10", "correlationid": "c1d2"}
    assert cli.event_line(message(json.dumps(event).encode())).plain.split() == [
        "2026-11-24T01:30:00.123+00:00", "petition.raised.v1", "P-3f9a1c2b7d10",
        "correlation", "c1d2"]
    assert cli.event_line(message(b"{not json")).plain == (
        "not an event, on petition.events petition.raised.v1: '{not json'")
