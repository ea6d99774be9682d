"""A platform of its own for the contract tests: generated input rewrites its registry,
rules and calendar, which the end-to-end tests rely on."""

import pytest

from tests.conftest import platform_of_its_own

CONTRACT_PORTS = {"grid": 18201, "petition": 18202, "volunteer": 18203, "funding": 18204,
                  "webhooks": 18205}


@pytest.fixture(scope="session")
def contract_platform(infrastructure, mongo_client, tmp_path_factory):
    with platform_of_its_own(infrastructure, mongo_client, CONTRACT_PORTS,
                             tmp_path_factory.mktemp("contract-logs")) as (running, _):
        yield running
