from marshmallow import Schema, fields, validate

from shared.schemas import Strict


class Member(Strict):
    id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(required=True)
    skills = fields.List(fields.String(), load_default=list)
    party_member = fields.Boolean(load_default=False)


class Team(Strict):
    name = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(["volunteer_team", "butler_team"]))
    skills = fields.List(fields.String(), load_default=list)
    members = fields.List(fields.Nested(Member), required=True)


class Claim(Strict):
    volunteer_id = fields.String(required=True)


class Completion(Strict):
    volunteer_id = fields.String(required=True)
    hours = fields.Float(required=True, validate=validate.Range(min=0, max=24 * 14))
    cost_fen = fields.Integer(required=True, validate=validate.Range(min=0, max=10**9))
    notes = fields.String(load_default="", validate=validate.Length(max=2000))


class Task(Schema):
    id = fields.String(attribute="_id")
    petition_id = fields.String()
    team_id = fields.String()
    category = fields.String()
    grid_id = fields.String()
    status = fields.String()
    due_by = fields.String()
    opened_at = fields.String()
    claimed_by = fields.String(allow_none=True)
    hours = fields.Float()
    cost_fen = fields.Integer()
    notes = fields.String()
