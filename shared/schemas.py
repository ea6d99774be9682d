"""Schema bases: JSON bodies and query strings are strict; events are read tolerantly
(see events.py)."""

from datetime import UTC
from functools import cache

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load


@cache
def one(schema_class, **options):
    """The process's one instance of a schema with these options: making one deep-copies
    every field, which costs more than loading or dumping a document with it, and a
    marshmallow schema keeps no state between loads and dumps."""
    return schema_class(**options)


# marshmallow would read "5" as 5 and 1 as true; a JSON body that says so has a bug.
JSON_TYPES = ((fields.Boolean, bool, "Give true or false."),
              (fields.Number, (int, float), "Give a number, not text."))


class Strict(Schema):
    """A JSON body: refuses unknown fields, so a misspelt field is an error rather than
    silently dropped, and values of the wrong JSON type."""

    class Meta:
        unknown = RAISE

    @pre_load
    def refuse_wrong_json_types(self, data, **kwargs):
        if not isinstance(data, dict):
            return data
        problems = {}
        for name, field in self.load_fields.items():
            key = field.data_key or name
            if data.get(key) is not None and (problem := _type_problem(field, data[key])):
                problems[key] = problem
        if problems:
            raise ValidationError(problems)
        return data


class Query(Schema):
    """Query parameters: all text, so numbers and booleans are parsed from it; unknown
    parameters are refused."""

    class Meta:
        unknown = RAISE


def _type_problem(field, value):
    if isinstance(field, fields.List) and isinstance(value, list):
        found = {i: p for i, item in enumerate(value)
                 if item is not None and (p := _type_problem(field.inner, item))}
        return found or None
    for kind, allowed, problem in JSON_TYPES:
        if isinstance(field, kind) and (not isinstance(value, allowed)
                                        or (kind is fields.Number and isinstance(value, bool))):
            return [problem]
    return None


class Moment(fields.AwareDateTime):
    """A time given with any offset, kept in UTC: the stores keep times as UTC ISO text and
    compare them as text, so "2026-11-24T00:00+08:00" must become "2026-11-23T16:00+00:00"."""

    def __init__(self, **kwargs):
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).astimezone(UTC)


class ThreeRates(Schema):
    """The three rates (三率) with the counts behind each; a rate with nothing to count is
    null."""

    dispatched = fields.Integer(required=True)
    acknowledged_on_time = fields.Integer(required=True)
    response_rate = fields.Float(required=True, allow_none=True)
    resolved = fields.Integer(required=True)
    resolution_rate = fields.Float(required=True, allow_none=True)
    rated = fields.Integer(required=True)
    satisfied = fields.Integer(required=True)
    satisfaction_rate = fields.Float(required=True, allow_none=True)
