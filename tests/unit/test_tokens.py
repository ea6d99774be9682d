"""Tokens: a signature is checked once, and a remembered token still expires."""

from datetime import datetime, timedelta

import pytest

from shared import auth
from shared.auth import Keyring, Principal, new_key
from shared.errors import Unauthenticated
from shared.events import now

LEADER = Principal(sub="g01-grid_leader", role=auth.GRID_STAFF, grids=("g01",))


@pytest.fixture
def keyring():
    signing, public = new_key("k1")
    return Keyring(public, signing)


def test_a_token_checked_once_is_not_checked_again_while_it_is_valid(keyring, monkeypatch):
    token = keyring.issue(LEADER, now())
    checks = []
    checked = keyring._checked
    monkeypatch.setattr(keyring, "_checked", lambda t: checks.append(t) or checked(t))

    assert [keyring.verify(token) for _ in range(3)] == [LEADER] * 3
    assert checks == [token]


def test_a_remembered_token_is_refused_once_it_has_expired(keyring, monkeypatch):
    token = keyring.issue(LEADER, now(), minutes=15)
    assert keyring.verify(token) == LEADER

    later = (now() + timedelta(minutes=16)).timestamp()
    monkeypatch.setattr(auth.time, "time", lambda: later)
    monkeypatch.setattr(auth.jwt.api_jwt, "datetime", frozen_at(later))
    with pytest.raises(Unauthenticated, match="expired"):
        keyring.verify(token)


def test_a_forged_token_is_refused_even_beside_a_remembered_one(keyring):
    token = keyring.issue(LEADER, now())
    keyring.verify(token)
    head, claims, signature = token.split(".")

    with pytest.raises(Unauthenticated, match="not valid"):
        keyring.verify(f"{head}.{claims}.{signature[::-1]}")


def test_a_process_remembers_a_bounded_number_of_tokens(keyring, monkeypatch):
    monkeypatch.setattr(auth, "VERIFIED_TOKENS", 2)
    tokens = [keyring.issue(LEADER, now()) for _ in range(3)]
    for token in tokens:
        keyring.verify(token)

    assert list(keyring.verified) == tokens[1:]


def frozen_at(timestamp):
    """PyJWT's clock, stopped at ``timestamp``."""
    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.fromtimestamp(timestamp, tz)

    return Frozen
