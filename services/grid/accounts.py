"""Who may sign in, and what their token says: the user store behind POST /auth/token.

People sign in with a username and password; other government systems with a service
account's client id and secret (the OAuth 2 client-credentials grant). A staff member's
scope is a place of the registry (a grid, workstation, community, sub-district or
district); their token lists the grids and communities under it, so every service can
check scope without asking this one.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from shared import auth
from shared.errors import InvalidFields, Unauthenticated

# scrypt's parameters travel with each hash, so they can be raised later.
SCRYPT = {"n": 2**14, "r": 8, "p": 1}
WRONG = "The username or password is wrong, or the account is disabled; try again."

# What a role must be given, beside the role itself.
NEEDS = {auth.GRID_STAFF: "area_id", auth.DISPATCHER: "area_id",
         auth.DEPARTMENT_OFFICER: "department_id", auth.FINANCE: "department_id",
         auth.VOLUNTEER: "volunteer_id"}


def hash_secret(secret):
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, **SCRYPT)
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${salt.hex()}${digest.hex()}"


def secret_matches(secret, stored):
    _, n, r, p, salt, digest = stored.split("$")
    given = hashlib.scrypt(secret.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r),
                           p=int(p))
    return hmac.compare_digest(given.hex(), digest)


def new_client_secret():
    return secrets.token_urlsafe(32)


def check_scope(account, area_known):
    """An account's scope must suit its role: staff need a place that exists."""
    problems = {}
    needed = NEEDS.get(account["role"])
    if needed and not account.get(needed):
        problems[needed] = [f"A {account['role']} account needs {needed}."]
    if account.get("area_id") and not area_known(account["area_id"]):
        problems["area_id"] = [f"No place {account['area_id']!r} in the registry; give a grid, "
                               "workstation, community, sub-district or district id."]
    if problems:
        raise InvalidFields("The account's scope does not suit its role.", fields=problems)


@dataclass(frozen=True)
class Area:
    grids: tuple
    communities: tuple


def principal(account, kind, area):
    """What the token of ``account`` says (``area``: the grids under its area_id)."""
    return auth.Principal(
        sub=account["_id"], role=account["role"], kind=kind, grids=area.grids,
        communities=area.communities, department_id=account.get("department_id"),
        volunteer_id=account.get("volunteer_id"))


def authenticate(account, secret):
    """The account, if it is active and the secret is its own; the same answer otherwise,
    so a caller cannot tell a wrong name from a wrong password."""
    if account is None:
        hash_secret(secret)  # as slow as a real check: timing tells nothing either
        raise Unauthenticated(WRONG)
    if not account.get("active", True) or not secret_matches(secret, account["secret_hash"]):
        raise Unauthenticated(WRONG)
    return account
