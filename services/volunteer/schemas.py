from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.schemas import Moment, Query, Strict

ID = validate.Length(min=1, max=64)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CLOCK = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="Write times as 'HH:MM'.")


class Qualification(Strict):
    kind = fields.String(required=True, validate=ID, metadata={
        "description": "e.g. first_aid, electrician, fire_safety"})
    valid_until = fields.Date(required=True)


class Slot(Strict):
    day = fields.String(required=True, validate=validate.OneOf(DAYS))
    start = fields.String(required=True, validate=CLOCK)
    end = fields.String(required=True, validate=CLOCK)


class Volunteer(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    phone = fields.String(load_default=None, validate=validate.Length(max=20))
    trades = fields.List(fields.String(validate=ID), load_default=list)
    skills = fields.List(fields.String(validate=ID), load_default=list)
    qualifications = fields.List(fields.Nested(Qualification), load_default=list)
    availability = fields.List(fields.Nested(Slot), load_default=list)
    home_grid_id = fields.String(required=True, validate=ID)
    community_id = fields.String(required=True, validate=ID)
    grids = fields.List(fields.String(validate=ID), load_default=list, metadata={
        "description": "The grids they serve; [\"*\"] for anywhere; default: the home grid."})
    party_member = fields.Boolean(load_default=False)
    branch_id = fields.String(load_default=None, validate=ID, metadata={
        "description": "Their morality bank branch (储蓄所); default: the community's."})


class Team(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    kind = fields.String(load_default="volunteer_team", validate=validate.Equal(
        "volunteer_team", error="Butler teams follow the grid registry; register volunteer "
                                "teams here."))
    leader_id = fields.String(required=True, validate=ID)
    members = fields.List(fields.String(validate=ID), required=True,
                          validate=validate.Length(min=1))
    skills = fields.List(fields.String(validate=ID), load_default=list)


class Report(Strict):
    community_id = fields.String(required=True, validate=ID)
    shows_identity = fields.Boolean(load_default=True)
    note = fields.String(load_default=None, validate=validate.Length(max=500))


class Claim(Strict):
    volunteer_id = fields.String(required=True, validate=ID)


class Release(Claim):
    reason = fields.String(load_default="released by the volunteer",
                           validate=validate.Length(max=500))


class Progress(Claim):
    note = fields.String(required=True, validate=validate.Length(min=2, max=2000))


class Evidence(Strict):
    url = fields.Url(required=True, schemes={"http", "https"})
    kind = fields.String(load_default="photo", validate=validate.OneOf(("photo", "document")))


class Completion(Strict):
    volunteer_id = fields.String(required=True, validate=ID)
    hours = fields.Float(required=True, validate=validate.Range(min=0, max=24 * 14), metadata={
        "description": "Hours each claimant worked."})
    cost_fen = fields.Integer(required=True, validate=validate.Range(min=0, max=10**9))
    notes = fields.String(load_default="", validate=validate.Length(max=2000))
    evidence = fields.List(fields.Nested(Evidence), load_default=list,
                           validate=validate.Length(max=10))


class Verification(Strict):
    verifier_id = fields.String(required=True, validate=ID, metadata={
        "description": "The grid leader of the task's grid."})
    approved = fields.Boolean(required=True)
    reason = fields.String(load_default=None, validate=validate.Length(max=2000))


class Branch(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    kind = fields.String(required=True, validate=validate.OneOf(
        ["union", "association", "school", "community", "other"]))


class CatalogueItem(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    price_hours = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False,
                                                                      max=24 * 365))
    active = fields.Boolean(load_default=True)


class Donation(Strict):
    request_id = fields.String(required=True, validate=ID, metadata={
        "description": "Your id for this request: sending it again posts nothing twice."})
    from_volunteer_id = fields.String(required=True, validate=ID)
    to_volunteer_id = fields.String(required=True, validate=ID)
    hours = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False,
                                                                max=24 * 365))
    memo = fields.String(load_default="", validate=validate.Length(max=500))


class Redemption(Strict):
    request_id = fields.String(required=True, validate=ID)
    volunteer_id = fields.String(required=True, validate=ID)
    item_id = fields.String(required=True, validate=ID)
    quantity = fields.Integer(load_default=1, strict=True, validate=validate.Range(min=1, max=1000))


class PointsRules(Strict):
    per_hour = fields.Float(required=True, validate=validate.Range(min=0))
    # Keys become Mongo field names: no dots or dollar signs.
    by_category = fields.Dict(keys=fields.String(validate=validate.Regexp(r"^[a-z0-9_]+$")),
                              values=fields.Float(validate=validate.Range(min=0)),
                              load_default=dict)
    urgent_bonus = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))


class LedgerQuery(Query):
    unit = fields.String(load_default="hours", validate=validate.OneOf(("hours", "points")))
    grid_id = fields.String(validate=ID)
    community_id = fields.String(validate=ID)
    since = Moment()


class TaskQuery(Query):
    volunteer_id = fields.String(validate=ID, metadata={
        "description": "The open tasks this volunteer may claim."})
    team_id = fields.String(validate=ID, metadata={"description": "A team's tasks."})
    status = fields.String(validate=validate.OneOf(
        ("open", "claimed", "submitted", "completed", "cancelled")))

    @validates_schema
    def says_whose(self, data, **kwargs):
        if not data.get("volunteer_id") and not data.get("team_id"):
            raise ValidationError("Give ?volunteer_id= for the tasks a volunteer may claim, "
                                  "or ?team_id=.", field_name="volunteer_id")


class Task(Schema):
    id = fields.String(attribute="_id")
    petition_id = fields.String()
    round = fields.Integer()
    team_id = fields.String()
    role = fields.String(allow_none=True)
    skill = fields.String(allow_none=True)
    qualification = fields.String(allow_none=True)
    category = fields.String()
    grid_id = fields.String()
    status = fields.String()
    places = fields.Integer()
    urgent = fields.Boolean()
    due_by = fields.String()
    opened_at = fields.String()
    claims = fields.List(fields.Dict())
    report = fields.Dict()
    verifications = fields.List(fields.Dict())
    hours_each = fields.Float()
    claimant_ids = fields.List(fields.String())
    funding_blocked = fields.Boolean()


class VolunteerView(Schema):
    """A volunteer as the platform shows them: no phone number."""

    id = fields.String(attribute="_id")
    name = fields.String()
    trades = fields.List(fields.String())
    skills = fields.List(fields.String())
    qualifications = fields.List(fields.Dict())
    availability = fields.List(fields.Dict())
    home_grid_id = fields.String()
    community_id = fields.String()
    grids = fields.List(fields.String())
    party_member = fields.Boolean()
    branch_id = fields.String()
    open_claims = fields.Integer()


class Tasks(Schema):
    tasks = fields.List(fields.Nested(Task), required=True)
