"""A platform of its own for the operations page's tests, and headless Chromium (installed
from Debian when missing)."""

import pytest

from tests.conftest import platform_of_its_own
from tools import browser

OPS_PORTS = {"grid": 18301, "petition": 18302, "volunteer": 18303, "funding": 18304}
# Test petitions sit some 20 m apart; only those within 5 m are likely duplicates.
SETTINGS = {"PETITION_DUPLICATE_RADIUS_M": "5"}


@pytest.fixture(scope="session")
def chromium():
    return browser.ensure_chromium()


# Per module, so its four processes are gone before the other suites start theirs.
@pytest.fixture(scope="module")
def ops_platform(infrastructure, mongo_client, tmp_path_factory):
    with platform_of_its_own(infrastructure, mongo_client, OPS_PORTS,
                             tmp_path_factory.mktemp("ops-logs"), **SETTINGS) as (running, _):
        yield running
