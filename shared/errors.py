"""Domain errors, free of HTTP: services raise these, entrypoints translate them.

Each message should tell the caller what to do next, not only what went wrong.
"""


class DomainError(Exception):
    code = "rejected"

    def __init__(self, message, fields=None, details=None):
        super().__init__(message)
        self.message = message
        self.fields = fields
        self.details = details or {}


class InvalidFields(DomainError):
    """Input that fails validation; ``fields`` maps each field to its problems."""

    code = "invalid_fields"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    """The request contradicts the current state (already claimed, changed meanwhile)."""

    code = "conflict"


class Forbidden(DomainError):
    """A caller whose role or scope does not cover the request."""

    code = "forbidden"


class Unauthenticated(DomainError):
    """No token, or one that is expired, forged or signed by a retired key."""

    code = "unauthenticated"


class TooManyRequests(DomainError):
    code = "too_many_requests"

    def __init__(self, message, retry_after):
        super().__init__(message, details={"retry_after_seconds": retry_after})
        self.retry_after = retry_after


class IllegalTransition(Conflict):
    """A command the current state does not allow; says what is allowed instead."""

    code = "illegal_transition"

    def __init__(self, subject, command, state, allowed):
        options = ", ".join(allowed) if allowed else "nothing more (it is final)"
        super().__init__(f"Cannot {command.replace('_', ' ')}: {subject} is {state}. "
                         f"From {state} you may: {options}.",
                         details={"state": state, "allowed": list(allowed)})
