"""A platform of its own for the operations page's tests, and headless Chromium (installed
from Debian when missing)."""

import subprocess

import pytest

from tests.conftest import drop_databases, new_vhost
from tools import browser, demo_city
from tools.infra import new_database_prefix
from tools.platform import SERVICES, Platform

OPS_PORTS = {"grid": 18301, "petition": 18302, "volunteer": 18303, "funding": 18304}
# Test petitions sit some 20 m apart; only those within 5 m are likely duplicates.
SETTINGS = {"PETITION_DUPLICATE_RADIUS_M": "5"}


@pytest.fixture(scope="session")
def chromium():
    return browser.ensure_chromium()


# Per module, so its four processes are gone before the other suites start theirs.
@pytest.fixture(scope="module")
def ops_platform(infrastructure, mongo_client, tmp_path_factory):
    vhost, amqp_uri = new_vhost(infrastructure)
    prefix = new_database_prefix()
    running = Platform({**infrastructure, **SETTINGS, "AMQP_URI": amqp_uri,
                        "DATABASE_PREFIX": prefix}, OPS_PORTS, tmp_path_factory.mktemp("ops-logs"))
    try:
        running.start_all()
        demo_city.seed({s: running.url(s) for s in SERVICES})
        yield running
    finally:
        running.stop_all()
        drop_databases(mongo_client, prefix)
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=False)
