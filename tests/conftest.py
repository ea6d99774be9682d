"""Fixtures over the real parts: RabbitMQ and the Mongo-wire server, started by tools.infra.

Every test session gets its own RabbitMQ virtual host and its own database
prefix, so it never disturbs a running demo or another session.
"""

import warnings

warnings.filterwarnings("ignore", message="\nEventlet is deprecated")

import eventlet  # noqa: E402

# nameko's workers are green threads; plain pytest does not patch (only `nameko test` does).
eventlet.monkey_patch()

import time  # noqa: E402
from contextlib import contextmanager  # noqa: E402

import pytest  # noqa: E402
from pymongo import MongoClient, monitoring  # noqa: E402

from tools import infra  # noqa: E402
from tools.infra import (  # noqa: E402, F401 - the tests' prefixes
    drop_databases,
    new_database_prefix,
)


def poll(check, timeout=20, interval=0.05, what="the condition"):
    """Call ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Commands(monitoring.CommandListener):
    """What a client sends the database: each command's name, with the collection it
    names, and the filters of its finds (to count the reads a change makes)."""

    def __init__(self):
        self.names, self.targets, self.find_filters = [], [], []

    def started(self, event):
        self.names.append(event.command_name)
        self.targets.append((event.command_name, event.command.get(event.command_name)))
        if event.command_name == "find":
            self.find_filters.append(event.command["filter"])

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


@pytest.fixture(scope="session")
def infrastructure():
    return infra.up()


def new_vhost(infrastructure):
    return infra.add_vhost("test", infrastructure["AMQP_URI"])


@pytest.fixture(scope="session")
def amqp_uri(infrastructure):
    vhost, uri = new_vhost(infrastructure)
    yield uri
    infra.delete_vhost(vhost)


@pytest.fixture(scope="session")
def mongo_client(infrastructure):
    client = MongoClient(infrastructure["MONGO_URI"], tz_aware=True)
    yield client
    client.close()


@pytest.fixture(scope="session")
def database_prefix(mongo_client):
    prefix = new_database_prefix()
    yield prefix
    drop_databases(mongo_client, prefix)


@pytest.fixture(scope="session")
def service_config(infrastructure, amqp_uri, database_prefix):
    """The configuration each service process (or test container) runs with."""
    return {**infrastructure, "AMQP_URI": amqp_uri, "DATABASE_PREFIX": database_prefix}


@pytest.fixture
def service_db(mongo_client, database_prefix):
    """A service's own database, as the test session names it."""
    return lambda service: mongo_client[f"{database_prefix}{service}"]


@contextmanager
def platform_of_its_own(infrastructure, mongo_client, ports, log_dir, seed=True, **settings):
    """The services named in ``ports`` as separate processes, on a virtual host and
    databases of their own (removed afterwards), seeded with the demo city; for suites whose
    input would disturb the shared end-to-end platform, or that need one to themselves.
    Yields the platform and its environment."""
    from tools import demo_city
    from tools.platform import SERVICES, Platform

    vhost, amqp_uri = new_vhost(infrastructure)
    prefix = new_database_prefix()
    env = {**infrastructure, **settings, "AMQP_URI": amqp_uri, "DATABASE_PREFIX": prefix}
    running = Platform(env, ports, log_dir)
    try:
        running.start_all()
        if seed:
            demo_city.seed({s: running.url(s) for s in SERVICES})
        yield running, env
    finally:
        running.stop_all()
        drop_databases(mongo_client, prefix)
        infra.delete_vhost(vhost)
