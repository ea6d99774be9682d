"""Domain errors, free of HTTP: services raise these, entrypoints translate them.

Each message should tell the caller what to do next, not only what went wrong.
"""


class DomainError(Exception):
    code = "rejected"

    def __init__(self, message, fields=None):
        super().__init__(message)
        self.message = message
        self.fields = fields


class InvalidFields(DomainError):
    """Input that fails validation; ``fields`` maps each field to its problems."""

    code = "invalid_fields"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    """The request contradicts the current state (already claimed, changed meanwhile)."""

    code = "conflict"


class Forbidden(DomainError):
    code = "forbidden"
