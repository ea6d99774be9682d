from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from services.petition.domain import CATEGORIES, CHANNELS
from shared.catalogue import Location
from shared.schemas import Strict


class Reporter(Strict):
    name = fields.String(load_default=None, validate=validate.Length(min=1, max=50))
    phone = fields.String(load_default=None, validate=validate.Regexp(
        r"^\+?[0-9][0-9 -]{4,19}$", error="Give a phone number of 5 to 20 digits."))
    anonymous = fields.Boolean(load_default=False)

    @validates_schema
    def named_unless_anonymous(self, data, **kwargs):
        if not data["anonymous"] and not data.get("name"):
            raise ValidationError("Give your name, or set anonymous to true.", "name")


class RaisePetition(Strict):
    grid_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    description = fields.String(required=True, validate=validate.Length(min=5, max=2000))
    location = fields.Nested(Location(unknown=RAISE), required=True)
    channel = fields.String(load_default="online_platform", validate=validate.OneOf(CHANNELS))
    reporter = fields.Nested(Reporter, required=True)


class PublicPetition(Schema):
    """A petition as anyone may see it: the reporter's name and phone never appear."""

    id = fields.String(attribute="_id")
    grid_id = fields.String()
    community_id = fields.String()
    category = fields.String()
    description = fields.String()
    location = fields.Nested(Location)
    channel = fields.String()
    stage = fields.String()
    raised_at = fields.String()
    closed_at = fields.String(allow_none=True)
    anonymous = fields.Boolean(attribute="reporter.anonymous")


class TimelineEntry(Schema):
    at = fields.String()
    type = fields.String()
    service = fields.String()
    event_id = fields.String()
    summary = fields.String()
