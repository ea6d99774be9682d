"""Schema bases: commands and HTTP bodies are strict; events are read tolerantly (see events.py)."""

from marshmallow import RAISE, Schema


class Strict(Schema):
    """Refuses unknown fields, so a misspelt field is an error, not silently dropped."""

    class Meta:
        unknown = RAISE
