"""Which events a webhook subscription wants, how a delivery is signed, and when it is
tried again."""

import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from services.webhooks.domain import attempted, matches, signature

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("pattern, event_type, wanted", [
    ("petition.*.v1", "petition.raised.v1", True),
    ("petition.#", "petition.raised.v1", True),
    ("#", "funds.settled.v1", True),
    ("*.raised.v1", "petition.raised.v1", True),
    ("petition.*", "petition.raised.v1", False),
    ("funds.#", "petition.raised.v1", False),
])
def test_patterns_match_event_types_as_amqp_topics_do(pattern, event_type, wanted):
    assert matches(pattern, event_type) is wanted


def test_the_signature_is_an_hmac_of_the_time_and_the_body():
    expected = hmac.new(b"s3cret", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert signature("s3cret", 1700000000, b"{}") == f"t=1700000000,v1={expected}"


def test_a_failed_attempt_is_due_again_after_the_next_delay_and_failed_after_the_last():
    record = {"attempts": []}
    first = attempted(record, {"status": 500}, NOW, delays=(10, 60))
    assert (first["state"], first["next_at"]) == ("pending", "2026-11-23T10:00:10+00:00")
    second = attempted(first, {"status": None, "error": "ConnectTimeout"}, NOW, delays=(10, 60))
    assert second["next_at"] == "2026-11-23T10:01:00+00:00"
    assert attempted(second, {"status": 502}, NOW, delays=(10, 60))["state"] == "failed"
    assert attempted(first, {"status": 204}, NOW, delays=(10, 60))["state"] == "delivered"
