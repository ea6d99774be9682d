"""A platform of its own for the contract tests: generated input rewrites its registry,
rules and calendar, which the end-to-end tests rely on."""

import subprocess

import pytest

from tests.conftest import drop_databases, new_vhost
from tools import demo_city
from tools.infra import new_database_prefix
from tools.platform import SERVICES, Platform

CONTRACT_PORTS = {"grid": 18201, "petition": 18202, "volunteer": 18203, "funding": 18204,
                  "webhooks": 18205}


@pytest.fixture(scope="session")
def contract_platform(infrastructure, mongo_client, tmp_path_factory):
    vhost, amqp_uri = new_vhost(infrastructure)
    prefix = new_database_prefix()
    running = Platform({**infrastructure, "AMQP_URI": amqp_uri, "DATABASE_PREFIX": prefix},
                       CONTRACT_PORTS,
                       tmp_path_factory.mktemp("contract-logs"))
    try:
        running.start_all()
        demo_city.seed({s: running.url(s) for s in SERVICES})
        yield running
    finally:
        running.stop_all()
        drop_databases(mongo_client, prefix)
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=False)
