"""The services' logs: a refusal the caller is told about is an answer, not a fault."""

import io
import json
import logging
import logging.config

import pytest
import yaml
from nameko.cli.main import setup_yaml_parser

from shared.errors import NotFound


@pytest.fixture
def service_log():
    """The services' logging configuration (deploy/nameko.yaml), written to a buffer."""
    setup_yaml_parser()
    with open("deploy/nameko.yaml") as file:
        config = yaml.safe_load(file)["LOGGING"]
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    logging.config.dictConfig(config)
    [console] = [h for h in root.handlers if h not in handlers]
    console.setStream(buffer := io.StringIO())
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    root.handlers[:] = handlers
    root.setLevel(level)


def test_an_expected_error_is_logged_in_one_line_at_info_without_its_traceback(service_log):
    log = logging.getLogger("nameko.containers")
    try:
        raise NotFound("No task 'T-1'; list a team's tasks with GET /teams/<id>/tasks.")
    except NotFound as exc:
        log.warning("(expected) error handling worker %s: %s", "<get_task>", exc, exc_info=True)

    [entry] = service_log()
    assert entry["level"] == "INFO"
    assert "No task 'T-1'" in entry["message"]
    assert "exception" not in entry


def test_an_unexpected_error_keeps_its_traceback(service_log):
    log = logging.getLogger("nameko.containers")
    try:
        raise KeyError("petition_id")
    except KeyError as exc:
        log.exception("error handling worker %s: %s", "<follow>", exc)

    [entry] = service_log()
    assert entry["level"] == "ERROR"
    assert "KeyError" in entry["exception"]
