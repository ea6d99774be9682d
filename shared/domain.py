"""Plain-Python building blocks the services' domain modules share."""

from dataclasses import dataclass, field, fields


@dataclass
class Change:
    """What one domain decision does to one aggregate: fields to set, items to
    append to list fields, and the events it causes. A store writes all three
    atomically, with the aggregate's version bump."""

    set: dict = field(default_factory=dict)
    push: dict = field(default_factory=dict)
    events: list = field(default_factory=list)


def settings_from_config(cls, config, prefix):
    """A dataclass of settings read from the keys ``<PREFIX>_<FIELD>``: missing keys keep
    their defaults; values (strings, from the environment) take the default's type."""
    values = {}
    for setting in fields(cls):
        raw = config.get(f"{prefix}_{setting.name.upper()}")
        if raw is None:
            continue
        if isinstance(setting.default, bool):
            values[setting.name] = str(raw).lower() in ("1", "true", "yes")
        else:
            values[setting.name] = type(setting.default)(raw)
    return cls(**values)
