"""Who is calling: signed bearer tokens, roles, and the grids, department or person a
role is scoped to.

Tokens are JWTs signed with Ed25519 (EdDSA). Only the grid service, which keeps the
user store, holds a signing key; every service holds the public keys, so a service
can check a token but never mint one. Keys are named (``kid``) and configured as
``AUTH_PUBLIC_KEYS="k2:<base64>,k1:<base64>"``, so a key is rotated without downtime:
publish the new public key beside the old, then sign with the new one
(``AUTH_SIGNING_KEY="k2:<base64 seed>"``), then drop the old key once the last token
it signed has expired (``AUTH_TOKEN_MINUTES``, 15 by default).
"""

import base64
import time
import uuid
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from datetime import timedelta

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from nameko.exceptions import ConfigurationError
from nameko.extensions import DependencyProvider

from shared.errors import Forbidden, Unauthenticated

ISSUER = AUDIENCE = "grid-governance"
TOKEN_MINUTES = 15
LEEWAY_SECONDS = 30
VERIFIED_TOKENS = 10_000

# The roles of the issue "Security and privacy"; see the README's permission matrix.
RESIDENT = "resident"
GRID_STAFF = "grid_staff"
DISPATCHER = "dispatcher"
VOLUNTEER = "volunteer"
DEPARTMENT_OFFICER = "department_officer"
FINANCE = "finance"
AUDITOR = "auditor"
ADMINISTRATOR = "administrator"
# Service accounts of other systems: a hotline or app back end that raises petitions
# for residents, and the metrics scraper.
INTAKE = "intake"
MONITORING = "monitoring"
ROLES = (RESIDENT, GRID_STAFF, DISPATCHER, VOLUNTEER, DEPARTMENT_OFFICER, FINANCE, AUDITOR,
         ADMINISTRATOR, INTAKE, MONITORING)

PUBLIC = "public"  # an endpoint anyone may call, without a token
ADMIN_ONLY = ()  # no role but the administrator's, who may call every endpoint
STAFF = (GRID_STAFF, DISPATCHER)  # scoped to the grids in their token
MONEY = (DEPARTMENT_OFFICER, FINANCE)  # scoped to their department
READERS = (AUDITOR, ADMINISTRATOR)  # everything, everywhere (the auditor only reads)


@dataclass(frozen=True)
class Principal:
    """The caller, as their token says. ``grids`` and ``communities`` are where staff
    may act; ``department_id`` is whose money; ``volunteer_id`` is who a volunteer is."""

    sub: str
    role: str
    kind: str = "user"
    grids: tuple = field(default_factory=tuple)
    communities: tuple = field(default_factory=tuple)
    department_id: str | None = None
    volunteer_id: str | None = None

    @property
    def everywhere(self):
        return self.role in READERS

    def covers_grid(self, grid_id):
        return self.everywhere or grid_id in self.grids

    def covers_community(self, community_id):
        return self.everywhere or community_id in self.communities

    def covers_department(self, department_id):
        return self.everywhere or self.department_id == department_id

    def is_volunteer(self, volunteer_id):
        return self.role == ADMINISTRATOR or self.volunteer_id == volunteer_id

    def check(self, allowed, what):
        """Refuse, without saying whether the thing exists elsewhere."""
        if not allowed:
            raise Forbidden(f"Your {self.role} role does not cover {what}; ask an "
                            "administrator to extend your scope if you need it.")


ANONYMOUS = Principal(sub="anonymous", role=PUBLIC, kind="anonymous")


def new_key(kid):
    """A fresh key pair as configuration strings: (signing key, public key)."""
    private = Ed25519PrivateKey.generate()
    seed = private.private_bytes_raw()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return f"{kid}:{_b64(seed)}", f"{kid}:{_b64(public)}"


class Keyring:
    """The public keys tokens may be signed with, and (in the issuer only) the key to sign."""

    def __init__(self, public_keys, signing_key=None):
        self.public = {kid: Ed25519PublicKey.from_public_bytes(raw)
                       for kid, raw in _named_keys(public_keys)}
        if not self.public:
            raise ValueError("AUTH_PUBLIC_KEYS is empty: set it to 'kid:<base64 Ed25519 "
                             "public key>' (python -m tools.auth keys makes a pair)")
        self.signing = None
        self.verified = OrderedDict()  # token -> (Principal, its expiry as a Unix time)
        if signing_key:
            [(kid, seed)] = _named_keys(signing_key)
            self.signing = (kid, Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_config(cls, config):
        return cls(config.get("AUTH_PUBLIC_KEYS") or "", config.get("AUTH_SIGNING_KEY"))

    def issue(self, principal, now, minutes=TOKEN_MINUTES):
        if self.signing is None:
            raise RuntimeError("this service holds no AUTH_SIGNING_KEY")
        kid, key = self.signing
        claims = {**{k: list(v) if isinstance(v, tuple) else v
                     for k, v in asdict(principal).items() if v not in (None, ())},
                  "iss": ISSUER, "aud": AUDIENCE, "iat": now, "jti": uuid.uuid4().hex,
                  "exp": now + timedelta(minutes=minutes)}
        return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})

    def verify(self, token):
        """The caller a token names, once its signature and claims are checked. A token
        checked before is not checked again until it expires (``VERIFIED_TOKENS`` of
        them): a person's app sends the same token with every request for its quarter of
        an hour, and a signature costs more than the rest of a read."""
        known = self.verified.get(token)
        if known and time.time() <= known[1] + LEEWAY_SECONDS:
            self.verified.move_to_end(token)
            return known[0]
        principal, expires = self._checked(token)
        self.verified[token] = (principal, expires)
        if len(self.verified) > VERIFIED_TOKENS:
            self.verified.popitem(last=False)
        return principal

    def _checked(self, token):
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self.public.get(kid)
            if key is None:
                raise Unauthenticated("The token was signed with a key this service does not "
                                      "trust (retired?); sign in again for a new token.")
            claims = jwt.decode(token, key, algorithms=["EdDSA"], audience=AUDIENCE,
                                issuer=ISSUER, leeway=LEEWAY_SECONDS,
                                options={"require": ["exp", "iat", "sub"]})
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("The token has expired; sign in again for a new one.") \
                from None
        except jwt.InvalidTokenError:
            raise Unauthenticated("The token is not valid; send 'Authorization: Bearer "
                                  "<token>' with a token from POST /auth/token.") from None
        if claims.get("role") not in ROLES:
            raise Unauthenticated("The token names no role this platform knows; sign in again.")
        return Principal(
            sub=claims["sub"], role=claims["role"], kind=claims.get("kind", "user"),
            grids=tuple(claims.get("grids", ())), communities=tuple(claims.get("communities", ())),
            department_id=claims.get("department_id"), volunteer_id=claims.get("volunteer_id"),
        ), claims["exp"]


def bearer(request):
    """The token of an 'Authorization: Bearer <token>' header, or None."""
    scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _named_keys(text):
    for item in filter(None, (part.strip() for part in str(text).split(","))):
        kid, _, encoded = item.partition(":")
        try:
            yield kid, base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except ValueError:
            raise ValueError(f"key {kid!r} is not base64") from None


def _b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Caller(DependencyProvider):
    """The worker's caller (the Principal the HTTP entrypoint authenticated)."""

    def get_dependency(self, worker_ctx):
        return worker_ctx.data.get("caller") or ANONYMOUS


class Signer(DependencyProvider):
    """The keyring with the signing key, for the one service that issues tokens."""

    def setup(self):
        self.keyring = Keyring.from_config(self.container.config)
        if self.keyring.signing is None:
            raise ConfigurationError("AUTH_SIGNING_KEY is not set: this service issues tokens "
                                     "and needs 'kid:<base64 Ed25519 seed>' "
                                     "(python -m tools.auth keys makes a pair)")

    def get_dependency(self, worker_ctx):
        return self.keyring
