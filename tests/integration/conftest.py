"""Services run in-process with nameko's container_factory, on the real broker and database.

Each test gets its own virtual host and databases: consumers of one test never
compete with another's, nor with the end-to-end platform's processes.
"""

import socket

import pytest
import requests

from shared.broker import Broker
from shared.catalogue import CATALOGUE
from tests.conftest import drop_databases, new_database_prefix, new_vhost
from tools import infra
from tools.auth import bearer

# The backoff shortened, so a test of five failed attempts takes seconds, not minutes.
FAST_RETRIES = "0.2,0.5,1"


@pytest.fixture
def isolated_config(infrastructure, mongo_client):
    vhost, uri = new_vhost(infrastructure)
    prefix = new_database_prefix()
    yield {**infrastructure, "AMQP_URI": uri, "DATABASE_PREFIX": prefix,
           "WEB_SERVER_ADDRESS": "127.0.0.1:0", "EVENT_RETRY_DELAYS": FAST_RETRIES}
    infra.delete_vhost(vhost)
    drop_databases(mongo_client, prefix)


@pytest.fixture
def broker(isolated_config):
    """A publisher on the test's virtual host, every catalogued queue declared."""
    broker = Broker(isolated_config["AMQP_URI"])
    broker.declare_consumers(CATALOGUE, list(CATALOGUE))
    yield broker
    broker.reset()


@pytest.fixture
def db_of(mongo_client, isolated_config):
    return lambda service: mongo_client[isolated_config["DATABASE_PREFIX"] + service]


@pytest.fixture
def start_service(isolated_config, container_factory):
    """Start a service class in a container; containers stop before the vhost is deleted.
    ``settings`` add to or override the test's configuration."""
    def start(service_class, **settings):
        container = container_factory(service_class, {**isolated_config, **settings})
        container.start()
        return container

    return start


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Api:
    """requests against one in-process service: ``api.post("/petitions", json=...)``, with
    an administrator's token unless the call sends its own Authorization header.
    ``api.container`` is the service's container, for a test that stops it."""

    def __init__(self, base, container=None):
        self.base, self.container = base, container

    def __getattr__(self, method):
        return lambda path, headers=None, **kwargs: requests.request(
            method, self.base + path, timeout=10, headers={**bearer(), **(headers or {})},
            **kwargs)


@pytest.fixture
def serve(start_service):
    """Start a service with its HTTP API on a free port; returns an Api for it."""
    def start(service_class, **settings):
        port = free_port()
        container = start_service(service_class, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}",
                                  **settings)
        return Api(f"http://127.0.0.1:{port}", container)

    return start


@pytest.fixture(scope="module")
def serve_once(request):
    """The funding service shared by the examples of a property-based test (hypothesis
    reruns a test body many times, and function-scoped fixtures only once)."""
    from nameko.containers import ServiceContainer

    from services.funding.service import FundingService
    from tests.conftest import drop_databases, new_database_prefix, new_vhost

    infrastructure = request.getfixturevalue("infrastructure")
    client = request.getfixturevalue("mongo_client")
    vhost, uri = new_vhost(infrastructure)
    prefix, port = new_database_prefix(), free_port()
    config = {**infrastructure, "AMQP_URI": uri, "DATABASE_PREFIX": prefix,
              "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}"}
    container = ServiceContainer(FundingService, config)
    container.start()
    broker = Broker(uri)
    broker.declare_consumers(CATALOGUE, list(CATALOGUE))
    api = Api(f"http://127.0.0.1:{port}")
    api.post("/allocations", json={"allocation_id": "property-budget", "department_id": "housing",
                                   "budget_line": "public_infrastructure", "fiscal_year": 2026,
                                   "amount_fen": 200_000, "approved_by": "county finance bureau"})
    yield api, broker
    broker.reset()
    container.stop()
    infra.delete_vhost(vhost)
    drop_databases(client, prefix)
