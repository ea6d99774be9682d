"""Personal data encrypted at rest (Fernet: AES-128-CBC with an HMAC-SHA256).

``SEAL_KEYS="<newest>,<older>"`` are urlsafe-base64 Fernet keys: the first seals, any
opens. Rotate by putting a new key first, letting the service's sweep reseal old
documents, then dropping the old key.
"""

import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from nameko.exceptions import ConfigurationError
from nameko.extensions import DependencyProvider


def new_seal_key():
    return Fernet.generate_key().decode()


class Sealer:
    def __init__(self, keys):
        keys = [k.strip() for k in str(keys or "").split(",") if k.strip()]
        if not keys:
            raise ValueError("SEAL_KEYS is empty: set it to a Fernet key "
                             "(python -m tools.auth keys makes one)")
        self.fernet = MultiFernet([Fernet(k) for k in keys])
        self.newest = Fernet(keys[0])
        self.fingerprint = hashlib.sha256(keys[0].encode()).hexdigest()[:12]

    def seal(self, value):
        return self.fernet.encrypt(json.dumps(value, ensure_ascii=False).encode()).decode()

    def open(self, sealed):
        try:
            return json.loads(self.fernet.decrypt(sealed.encode()))
        except InvalidToken:
            raise ValueError("sealed with a key that is no longer configured") from None

    def is_current(self, sealed):
        """Sealed with the newest key (else the sweep should reseal it)."""
        try:
            self.newest.decrypt(sealed.encode())
        except InvalidToken:
            return False
        return True


class Seals(DependencyProvider):
    def setup(self):
        try:
            self.sealer = Sealer(self.container.config.get("SEAL_KEYS"))
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None

    def get_dependency(self, worker_ctx):
        return self.sealer
