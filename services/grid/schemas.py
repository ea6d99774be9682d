from marshmallow import Schema, ValidationError, fields, validate, validates

from services.grid.domain import ANY, COMMUNITY_TYPES
from shared.geo import polygon_problems
from shared.schemas import Strict


class Community(Strict):
    id = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,40}$"))
    name = fields.String(required=True)
    type = fields.String(required=True, validate=validate.OneOf(COMMUNITY_TYPES))
    sub_district = fields.String(required=True)
    households = fields.Integer(required=True, validate=validate.Range(min=0))
    population = fields.Integer(required=True, validate=validate.Range(min=0))


class Workstation(Strict):
    id = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,40}$"))
    name = fields.String(required=True)
    community_id = fields.String(required=True)


class Grid(Strict):
    id = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,40}$"))
    name = fields.String(required=True)
    workstation_id = fields.String(required=True)
    households = fields.Integer(required=True, validate=validate.Range(min=0))
    population = fields.Integer(required=True, validate=validate.Range(min=0))
    boundary = fields.Dict(load_default=None, allow_none=True)

    @validates("boundary")
    def is_a_polygon(self, boundary, **kwargs):
        if boundary is not None and (problems := polygon_problems(boundary)):
            raise ValidationError(problems)


class Registry(Strict):
    communities = fields.List(fields.Nested(Community), required=True)
    workstations = fields.List(fields.Nested(Workstation), required=True)
    grids = fields.List(fields.Nested(Grid), required=True)


class RuleHandler(Strict):
    kind = fields.String(required=True, validate=validate.OneOf(["volunteer_team", "butler_team"]))
    team_id = fields.String()
    name = fields.String()


class RuleFunding(Strict):
    department_id = fields.String(required=True)
    budget_line = fields.String(required=True)


class Rule(Strict):
    id = fields.String(required=True)
    category = fields.String(required=True)
    community_type = fields.String(load_default=ANY,
                                   validate=validate.OneOf((ANY, *COMMUNITY_TYPES)))
    handler = fields.Nested(RuleHandler, required=True)
    funding = fields.Nested(RuleFunding, load_default=None, allow_none=True)
    estimate_fen = fields.Integer(load_default=0, validate=validate.Range(min=0))
    acknowledge_hours = fields.Integer(required=True, validate=validate.Range(min=1))
    finish_hours = fields.Integer(required=True, validate=validate.Range(min=1))


class RuleTable(Strict):
    rules = fields.List(fields.Nested(Rule), required=True)


class Dispatch(Schema):
    petition_id = fields.String()
    grid_id = fields.String()
    community_id = fields.String()
    category = fields.String()
    round = fields.Integer()
    rule_id = fields.String()
    handler = fields.Dict()
    funding = fields.Dict(allow_none=True)
    acknowledge_by = fields.String()
    due_by = fields.String()
    dispatched_at = fields.String()
    excluded_teams = fields.List(fields.String())
