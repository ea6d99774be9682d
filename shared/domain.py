"""Plain-Python building blocks the services' domain modules share."""

from dataclasses import dataclass, field


@dataclass
class Change:
    """What one domain decision does to one aggregate: fields to set, items to
    append to list fields, and the events it causes. A store writes all three
    atomically, with the aggregate's version bump."""

    set: dict = field(default_factory=dict)
    push: dict = field(default_factory=dict)
    events: list = field(default_factory=list)
