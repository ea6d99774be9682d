"""The event catalogue: every event type, who publishes it, its data schema, who consumes it.

This is the one source of truth for the platform's messaging topology. A
producer declares the durable queue of every consumer listed here before it
publishes, so no event falls into an exchange with nothing bound; a consumer
refuses to start a handler the catalogue does not list.
"""

from dataclasses import dataclass

from marshmallow import Schema, fields, validate


class Location(Schema):
    lat = fields.Float(required=True, validate=validate.Range(-90, 90))
    lng = fields.Float(required=True, validate=validate.Range(-180, 180))
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class Handler(Schema):
    """Who does the work: a volunteer team or a grid's butler team (管家团队)."""

    kind = fields.String(required=True, validate=validate.OneOf(["volunteer_team", "butler_team"]))
    team_id = fields.String(required=True)
    name = fields.String(required=True)


class Funding(Schema):
    """Whose budget pays for the work: funds follow the task (费随事转)."""

    department_id = fields.String(required=True)
    budget_line = fields.String(required=True)
    fiscal_year = fields.Integer(required=True)
    estimate_fen = fields.Integer(required=True, validate=validate.Range(min=0))
    centre_id = fields.String(required=True)


class GridRegistered(Schema):
    grid_id = fields.String(required=True)
    name = fields.String(required=True)
    community_id = fields.String(required=True)
    community_type = fields.String(required=True)
    workstation_id = fields.String(required=True)
    households = fields.Integer(required=True)
    population = fields.Integer(required=True)
    revision = fields.Integer(required=True)


class PetitionRaised(Schema):
    petition_id = fields.String(required=True)
    grid_id = fields.String(required=True)
    category = fields.String(required=True)
    description = fields.String(required=True)
    location = fields.Nested(Location, required=True)
    channel = fields.String(required=True)


class PetitionDispatched(Schema):
    petition_id = fields.String(required=True)
    grid_id = fields.String(required=True)
    community_id = fields.String(required=True)
    category = fields.String(required=True)
    rule_id = fields.String(required=True)
    handler = fields.Nested(Handler, required=True)
    funding = fields.Nested(Funding, required=True, allow_none=True)
    acknowledge_by = fields.AwareDateTime(required=True, format="iso")
    due_by = fields.AwareDateTime(required=True, format="iso")


class TaskOpened(Schema):
    task_id = fields.String(required=True)
    petition_id = fields.String(required=True)
    team_id = fields.String(required=True)


class TaskClaimed(Schema):
    task_id = fields.String(required=True)
    petition_id = fields.String(required=True)
    team_id = fields.String(required=True)
    volunteer_id = fields.String(required=True)


class TaskCompleted(Schema):
    task_id = fields.String(required=True)
    petition_id = fields.String(required=True)
    team_id = fields.String(required=True)
    volunteer_id = fields.String(required=True)
    hours = fields.Float(required=True, validate=validate.Range(min=0))
    cost_fen = fields.Integer(required=True, validate=validate.Range(min=0))
    funding = fields.Nested(Funding, required=True, allow_none=True)


class FundsSettled(Schema):
    settlement_id = fields.String(required=True)
    petition_id = fields.String(required=True)
    task_id = fields.String(required=True)
    department_id = fields.String(required=True)
    budget_line = fields.String(required=True)
    fiscal_year = fields.Integer(required=True)
    centre_id = fields.String(required=True)
    amount_fen = fields.Integer(required=True)
    currency = fields.String(required=True)


@dataclass(frozen=True)
class EventType:
    type: str
    producer: str
    schema: type[Schema]
    consumers: tuple[tuple[str, str], ...]
    description: str


class Catalogue:
    def __init__(self, *event_types):
        self.by_type = {e.type: e for e in event_types}

    def __iter__(self):
        return iter(self.by_type.values())

    def schema_for(self, type):
        return self.by_type[type].schema

    def producer_of(self, type):
        return self.by_type[type].producer

    def produced_by(self, service):
        return [e for e in self if e.producer == service]

    def consumes(self, type, service, method):
        return type in self.by_type and (service, method) in self.by_type[type].consumers


CATALOGUE = Catalogue(
    EventType("grid.registered.v1", "grid", GridRegistered, (("petition", "track_grid"),),
              "A grid was added to the registry or its details changed."),
    EventType("petition.raised.v1", "petition", PetitionRaised, (("grid", "dispatch"),),
              "A resident raised a petition in a grid."),
    EventType("petition.dispatched.v1", "grid", PetitionDispatched,
              (("petition", "follow"), ("volunteer", "open_task")),
              "The dispatcher chose who handles the petition, who pays and by when."),
    EventType("task.opened.v1", "volunteer", TaskOpened, (("petition", "follow"),),
              "A task was opened for the handling team."),
    EventType("task.claimed.v1", "volunteer", TaskClaimed, (("petition", "follow"),),
              "A team member claimed the task."),
    EventType("task.completed.v1", "volunteer", TaskCompleted,
              (("petition", "follow"), ("funding", "settle")),
              "The work was done, with hours spent and cost."),
    EventType("funds.settled.v1", "funding", FundsSettled, (("petition", "follow"),),
              "The cost moved from the department's budget line to the community service centre."),
)
