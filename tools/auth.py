"""Keys and tokens for operators.

    python -m tools.auth keys                      a new key pair, as configuration
    python -m tools.auth token --role administrator [--grids g01,g02]
        [--department-id housing] [--volunteer-id v-001] [--minutes 60]

Whoever holds the signing key can mint any token: that is how the first administrator
is made (and what the demo and the tests do), so keep the key as a Secret of the grid
service only. Locally the keys live in ``.data/keys.json``, made on first use.
"""

import argparse
import os

from shared import auth
from shared.events import now
from shared.sealing import new_seal_key
from tools.infra import local_keys


def operator_token(role=auth.ADMINISTRATOR, minutes=12 * 60, keys=None, **scope):
    """A token minted with the signing key (the environment's, else this machine's)."""
    keys = keys or {name: os.environ.get(name) or local_keys()[name]
                    for name in ("AUTH_SIGNING_KEY", "AUTH_PUBLIC_KEYS")}
    keyring = auth.Keyring(keys["AUTH_PUBLIC_KEYS"], keys["AUTH_SIGNING_KEY"])
    scope = {k: tuple(v) if isinstance(v, (list, tuple)) else v for k, v in scope.items()}
    return keyring.issue(auth.Principal(sub=scope.pop("sub", f"operator-{role}"), role=role,
                                        **scope), now(), minutes)


def bearer(role=auth.ADMINISTRATOR, **scope):
    """The Authorization header of an operator token."""
    return {"Authorization": f"Bearer {operator_token(role, **scope)}"}


def main():
    parser = argparse.ArgumentParser(prog="python -m tools.auth")
    commands = parser.add_subparsers(dest="command", required=True)
    keys = commands.add_parser("keys", help="print new keys as configuration")
    keys.add_argument("--kid", default="k1")
    token = commands.add_parser("token", help="mint a token with the signing key")
    token.add_argument("--role", default=auth.ADMINISTRATOR, choices=auth.ROLES)
    token.add_argument("--grids", default="")
    token.add_argument("--communities", default="")
    token.add_argument("--department-id")
    token.add_argument("--volunteer-id")
    token.add_argument("--minutes", type=int, default=60)
    args = parser.parse_args()
    if args.command == "keys":
        signing, public = auth.new_key(args.kid)
        print(f"AUTH_SIGNING_KEY={signing}\nAUTH_PUBLIC_KEYS={public}\n"
              f"SEAL_KEYS={new_seal_key()}")
        return
    print(operator_token(args.role, args.minutes, grids=tuple(filter(None, args.grids.split(","))),
                         communities=tuple(filter(None, args.communities.split(","))),
                         department_id=args.department_id, volunteer_id=args.volunteer_id))


if __name__ == "__main__":
    main()
