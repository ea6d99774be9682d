"""The platform as it runs in production: each service its own process."""

import pytest
import requests

from tools import demo_city
from tools.auth import bearer
from tools.platform import SERVICES, Platform

TEST_PORTS = {"grid": 18001, "petition": 18002, "volunteer": 18003, "funding": 18004,
              "webhooks": 18005}
# Test petitions sit some 20 m apart; only those within 5 m are likely duplicates.
SETTINGS = {"PETITION_DUPLICATE_RADIUS_M": "5"}


@pytest.fixture(scope="session")
def platform(service_config, tmp_path_factory):
    running = Platform({**service_config, **SETTINGS}, TEST_PORTS, tmp_path_factory.mktemp("logs"))
    try:
        running.start_all()
        demo_city.seed({s: running.url(s) for s in SERVICES})
        yield running
    finally:
        running.stop_all()


@pytest.fixture(scope="session")
def api(platform):
    """requests, pointed at one service: ``api("petition").post("/petitions", json=...)``."""
    class Client:
        """Calls carry an administrator's token unless they send their own Authorization."""

        def __init__(self, service):
            self.base = platform.url(service)

        def __getattr__(self, method):
            return lambda path, headers=None, **kwargs: requests.request(
                method, self.base + path, timeout=10, headers={**bearer(), **(headers or {})},
                **kwargs)

    return Client
