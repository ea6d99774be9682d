"""Services run in-process with nameko's container_factory, on the real broker and database.

Each test gets its own virtual host and databases: consumers of one test never
compete with another's, nor with the end-to-end platform's processes.
"""

import subprocess

import pytest

from tests.conftest import drop_databases, new_database_prefix, new_vhost


@pytest.fixture
def isolated_config(infrastructure, mongo_client):
    vhost, uri = new_vhost(infrastructure)
    prefix = new_database_prefix()
    yield {"AMQP_URI": uri, "MONGO_URI": infrastructure["MONGO_URI"], "DATABASE_PREFIX": prefix,
           "WEB_SERVER_ADDRESS": "127.0.0.1:0"}
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=False)
    drop_databases(mongo_client, prefix)


@pytest.fixture
def db_of(mongo_client, isolated_config):
    return lambda service: mongo_client[isolated_config["DATABASE_PREFIX"] + service]


@pytest.fixture
def start_service(isolated_config, container_factory):
    """Start a service class in a container; containers stop before the vhost is deleted."""
    def start(service_class):
        container = container_factory(service_class, isolated_config)
        container.start()
        return container

    return start
