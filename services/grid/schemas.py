from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from services.grid import assessment, evaluation, spot_checks
from services.grid.calendar import WorkCalendar
from services.grid.dispatcher import ANY, COMMUNITY_TYPES
from services.grid.registry import BUTLER_ROLES
from shared import auth
from shared.geo import polygon_problems
from shared.schemas import Moment, Query, Strict, ThreeRates

PLACE_ID = validate.Regexp(r"^[A-Za-z0-9_-]{1,40}$",
                           error="Use up to 40 letters, digits, - and _.")
COUNT = validate.Range(min=0)


class Place(Strict):
    id = fields.String(required=True, validate=PLACE_ID)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    households = fields.Integer(load_default=None, allow_none=True, validate=COUNT)
    population = fields.Integer(load_default=None, allow_none=True, validate=COUNT)


class District(Place):
    pass


class SubDistrict(Place):
    """A sub-district (街道) or a town (镇)."""

    district_id = fields.String(required=True)
    kind = fields.String(load_default="sub_district",
                         validate=validate.OneOf(("sub_district", "town")))


class Community(Place):
    type = fields.String(required=True, validate=validate.OneOf(COMMUNITY_TYPES))
    sub_district_id = fields.String(required=True)


class Workstation(Place):
    community_id = fields.String(required=True)


class Person(Strict):
    id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))


class Grid(Place):
    workstation_id = fields.String(required=True)
    households = fields.Integer(required=True, validate=COUNT)
    population = fields.Integer(required=True, validate=COUNT)
    boundary = fields.Dict(load_default=None, allow_none=True, metadata={
        "description": "A GeoJSON Polygon or MultiPolygon, coordinates [lng, lat]."})
    butler_team = fields.Dict(keys=fields.String(validate=validate.OneOf(BUTLER_ROLES)),
                              values=fields.List(fields.Nested(Person)), load_default=dict)

    @validates("boundary")
    def is_a_polygon(self, boundary, **kwargs):
        if boundary is not None and (problems := polygon_problems(boundary)):
            raise ValidationError(problems)


class Building(Place):
    grid_id = fields.String(required=True)
    head = fields.Nested(Person, load_default=None, allow_none=True, metadata={
        "description": "The building head (楼栋长)."})


class Registry(Strict):
    districts = fields.List(fields.Nested(District), required=True)
    sub_districts = fields.List(fields.Nested(SubDistrict), required=True)
    communities = fields.List(fields.Nested(Community), required=True)
    workstations = fields.List(fields.Nested(Workstation), required=True)
    grids = fields.List(fields.Nested(Grid), required=True)
    buildings = fields.List(fields.Nested(Building), load_default=list)


class RuleHandler(Strict):
    """Who a rule sends the matter to: a role in the grid's butler team, the whole
    butler team, a named volunteer team, any volunteer team with a skill, or a department."""

    kind = fields.String(required=True, validate=validate.OneOf(
        ("butler_role", "butler_team", "volunteer_team", "volunteer_skill", "department")))
    role = fields.String(validate=validate.OneOf(BUTLER_ROLES))
    team_id = fields.String(validate=validate.Length(min=1, max=64))
    skill = fields.String(validate=validate.Length(min=1, max=64))
    department_id = fields.String(validate=validate.Length(min=1, max=64))
    name = fields.String(validate=validate.Length(min=1, max=100))

    NEEDS = {"butler_role": "role", "volunteer_team": "team_id", "volunteer_skill": "skill",
             "department": "department_id"}

    @validates_schema
    def names_what_its_kind_needs(self, data, **kwargs):
        needed = self.NEEDS.get(data["kind"])
        if needed and not data.get(needed):
            raise ValidationError(f"A {data['kind']} handler needs its {needed}.", needed)


class RuleFunding(Strict):
    department_id = fields.String(required=True)
    budget_line = fields.String(required=True)


class TimeLimit(Strict):
    amount = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False))
    unit = fields.String(required=True, validate=validate.OneOf(
        ("hours", "working_hours", "working_days")))


class Rule(Strict):
    id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    category = fields.String(required=True)
    community_type = fields.String(load_default=ANY,
                                   validate=validate.OneOf((ANY, *COMMUNITY_TYPES)))
    area = fields.String(load_default=ANY, metadata={
        "description": "A grid, workstation, community, sub-district or district id, or *."})
    handler = fields.Nested(RuleHandler, required=True)
    funding = fields.Nested(RuleFunding, load_default=None, allow_none=True)
    estimate_fen = fields.Integer(load_default=0, validate=COUNT)
    acknowledge_within = fields.Nested(TimeLimit, required=True)
    finish_within = fields.Nested(TimeLimit, required=True)
    places = fields.Integer(load_default=1, validate=validate.Range(1, 20), metadata={
        "description": "How many volunteers the work needs."})
    urgent = fields.Boolean(load_default=False)


class RuleTable(Strict):
    rules = fields.List(fields.Nested(Rule), required=True)


class RulesQuery(Query):
    revision = fields.Integer(validate=validate.Range(min=1), metadata={
        "description": "An earlier revision; without it, the table in force."})


class Revision(Schema):
    revision = fields.Integer(required=True)


class RuleRevision(Revision):
    rules = fields.List(fields.Dict(), required=True)


class Ruling(Strict):
    """The dispatch centre's final word on an order returned too often."""

    arbiter = fields.String(required=True, validate=validate.Length(min=1, max=64))
    reason = fields.String(required=True, validate=validate.Length(min=2, max=2000))
    handler = fields.Nested(RuleHandler, required=True)
    funding = fields.Nested(RuleFunding, load_default=None, allow_none=True)
    estimate_fen = fields.Integer(load_default=0, validate=COUNT)


class ExtensionRequest(Strict):
    actor = fields.String(required=True, validate=validate.Length(min=1, max=64))
    reason = fields.String(required=True, validate=validate.Length(min=2, max=2000))
    working_days = fields.Float(required=True, validate=validate.Range(0, 30, min_inclusive=False))


class ExtensionDecision(Strict):
    actor = fields.String(required=True, validate=validate.Length(min=1, max=64))
    approve = fields.Boolean(required=True)
    reason = fields.String(load_default=None, validate=validate.Length(max=2000))


class Dispatch(Schema):
    petition_id = fields.String()
    round = fields.Integer()
    state = fields.String()
    grid_id = fields.String()
    category = fields.String()
    rule_id = fields.String()
    handler = fields.Dict(allow_none=True)
    funding = fields.Dict(allow_none=True)
    acknowledge_by = fields.String()
    due_by = fields.String()
    dispatched_at = fields.String()
    acknowledged_at = fields.String(allow_none=True)
    final = fields.Boolean()
    excluded = fields.List(fields.String())
    returns = fields.Integer()
    clock_steps = fields.List(fields.String())
    extension = fields.Dict(allow_none=True)
    ruling = fields.Dict()
    explanation = fields.Dict()


class Dispatches(Schema):
    petition_id = fields.String(required=True)
    rounds = fields.List(fields.Nested(Dispatch), required=True)


class AwaitingRuling(Schema):
    awaiting_ruling = fields.List(fields.Nested(Dispatch), required=True)


class PublicGridView(Schema):
    """Where a grid is: what anyone may know (no butler team, no figures)."""

    id = fields.String(required=True)
    name = fields.String()
    community_id = fields.String()
    sub_district_id = fields.String()
    district_id = fields.String()
    boundary = fields.Dict(allow_none=True, metadata={"description": "A GeoJSON Polygon."})


class GridView(Schema):
    id = fields.String(required=True)
    name = fields.String()
    workstation_id = fields.String(allow_none=True)
    community_id = fields.String()
    community_type = fields.String(allow_none=True)
    sub_district_id = fields.String()
    district_id = fields.String()
    households = fields.Integer(allow_none=True)
    population = fields.Integer(allow_none=True)
    butler_team = fields.Dict(allow_none=True)
    revision = fields.Integer(allow_none=True)
    boundary = fields.Dict(allow_none=True, metadata={"description": "A GeoJSON Polygon."})



CLOCK = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$",
                        error="Write times as 'HH:MM' on the 24-hour clock, e.g. '09:00'.")


class CalendarDefinition(Strict):
    """A city's working-time calendar, e.g. from the State Council's notice for the year::

        {"timezone": "Asia/Shanghai", "weekend": [6, 7],
         "working_hours": [["09:00", "12:00"], ["13:30", "17:30"]],
         "holidays": ["2026-02-15", "2026-02-16"], "make_up_days": ["2026-02-14"]}

    Loads into what ``WorkCalendar.from_document`` takes; missing fields take its defaults.
    """

    timezone = fields.String(load_default="Asia/Shanghai")
    weekend = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1, max=7)),
                          load_default=lambda: [6, 7])
    working_hours = fields.List(
        fields.List(fields.String(validate=CLOCK), validate=validate.Length(equal=2)),
        load_default=lambda: [["09:00", "12:00"], ["13:30", "17:30"]])
    holidays = fields.List(fields.Date(), load_default=list)
    make_up_days = fields.List(fields.Date(), load_default=list)

    @validates("timezone")
    def is_a_zone(self, value, **kwargs):
        try:
            ZoneInfo(value)
        except (ValueError, ZoneInfoNotFoundError, OSError):
            raise ValidationError(f"Unknown time zone {value!r}; give an IANA name such as "
                                  "'Asia/Shanghai'.") from None

    @validates_schema
    def is_a_calendar(self, data, **kwargs):
        # Order, overlaps and holiday/make-up clashes are the calendar's own rules:
        # ask it, so they are stated once.
        try:
            WorkCalendar.from_document(data)
        except ValueError as error:
            raise ValidationError(str(error)) from None


# Accounts and sign-in

ROLE = validate.OneOf(auth.ROLES)


class TokenRequest(Strict):
    """``password`` for people, ``client_credentials`` for other systems (OAuth 2 names)."""

    grant_type = fields.String(required=True, validate=validate.OneOf(
        ("password", "client_credentials")))
    username = fields.String(validate=validate.Length(min=1, max=64))
    password = fields.String(validate=validate.Length(min=1, max=200))
    client_id = fields.String(validate=validate.Length(min=1, max=64))
    client_secret = fields.String(validate=validate.Length(min=1, max=200))

    @validates_schema
    def has_credentials(self, data, **kwargs):
        needed = ("username", "password") if data.get("grant_type") == "password" \
            else ("client_id", "client_secret")
        missing = {name: [f"Required for grant_type {data.get('grant_type')}."]
                   for name in needed if not data.get(name)}
        if missing:
            raise ValidationError(missing)


class Token(Schema):
    access_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"description": "Bearer"})
    expires_in = fields.Integer(required=True, metadata={"description": "Seconds."})


class AccountScope(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    role = fields.String(required=True, validate=ROLE)
    area_id = fields.String(load_default=None, validate=PLACE_ID, metadata={
        "description": "Staff: the grid, workstation, community, sub-district or district "
                       "they work in."})
    department_id = fields.String(load_default=None, validate=validate.Length(max=64))
    volunteer_id = fields.String(load_default=None, validate=validate.Length(max=64))
    active = fields.Boolean(load_default=True)


class UserDefinition(AccountScope):
    password = fields.String(required=True, load_only=True,
                             validate=validate.Length(min=12, max=200, error=(
                                 "Use a password of 12 to 200 characters.")))


class AccountView(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True)
    area_id = fields.String(allow_none=True)
    department_id = fields.String(allow_none=True)
    volunteer_id = fields.String(allow_none=True)
    active = fields.Boolean(required=True)


class ServiceAccountCreated(AccountView):
    client_secret = fields.String(metadata={
        "description": "Shown once, when the account is created or its secret renewed."})


class ServiceAccountDefinition(AccountScope):
    renew_secret = fields.Boolean(load_default=False, metadata={
        "description": "Issue a new client secret (the old one stops working)."})


# Evaluation (考核)

class FiguresQuery(Query):
    kind = fields.String(required=True, validate=validate.OneOf(evaluation.SUBJECTS), metadata={
        "description": "What is judged: a place at any level, a handler or a department."})
    id = fields.String(required=True, validate=validate.Length(min=1, max=200), metadata={
        "description": "Its id: a place id, a handler key (a team id, team/role, or "
                       "department:<id>) or a department id."})
    start = Moment(data_key="from", metadata={
        "description": "Counted from this dispatch time (inclusive)."})
    end = Moment(data_key="to", metadata={
        "description": "Counted up to this dispatch time (exclusive)."})

    @validates_schema
    def check_period(self, data, **kwargs):
        if data.get("start") and data.get("end") and data["start"] >= data["end"]:
            raise ValidationError("must be after 'from'", "to")


class PeriodRates(ThreeRates):
    period = fields.String(required=True, metadata={"description": "2026-W47 or 2026-11"})


class Trend(Schema):
    week = fields.List(fields.Nested(PeriodRates), required=True)
    month = fields.List(fields.Nested(PeriodRates), required=True)


class Figures(ThreeRates):
    kind = fields.String(required=True)
    id = fields.String(required=True)
    start = fields.String(data_key="from", required=True, allow_none=True)
    end = fields.String(data_key="to", required=True, allow_none=True)
    trend = fields.Nested(Trend, required=True)


class Rebuilt(Schema):
    petitions = fields.Integer(required=True)


# Public disclosure (居务公开): every field here is one anyone may read (disclosure.py)

class DisclosedGrid(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)


class DisclosedPeriod(Schema):
    first = fields.String(required=True, metadata={"description": "2025-12"})
    last = fields.String(required=True, metadata={"description": "2026-11, this month"})


class DisclosedRates(Schema):
    month = fields.Nested(PeriodRates, required=True, metadata={
        "description": "This month's three rates (local month)."})
    trend = fields.List(fields.Nested(PeriodRates), required=True, metadata={
        "description": "Each of the 12 months, oldest first; rates are null in a month "
                       "with nothing to count."})


class DisclosedVote(Schema):
    on = fields.String(required=True, metadata={"description": "Local date of the vote."})
    motion = fields.String(required=True, metadata={"description": "adopt or reject"})
    members = fields.Integer(required=True)
    present = fields.Integer(required=True)
    in_favour = fields.Integer(required=True)
    against = fields.Integer(required=True)
    abstaining = fields.Integer(required=True)
    quorate = fields.Boolean(required=True)
    carried = fields.Boolean(required=True)


class DisclosedProposal(Schema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    state = fields.String(required=True, metadata={
        "description": "under_review, awaiting_vote, on_notice, adopted or rejected"})
    submitted_on = fields.String(required=True, allow_none=True)
    updated_on = fields.String(required=True)
    votes = fields.List(fields.Nested(DisclosedVote), required=True)
    objections = fields.Integer(required=True, metadata={
        "description": "How many objections residents made during public notice."})


class DisclosedNotice(Schema):
    on = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(
        ("proposal_on_notice", "proposal_concluded", "funding_blocked")))
    outcome = fields.String(metadata={"description": "A proposal's: adopted, rejected or "
                                                     "returned_to_review."})
    proposal_id = fields.String()
    title = fields.String()
    category = fields.String(allow_none=True, metadata={"description": "A blocked order's."})
    stage = fields.String(metadata={"description": "hold or capture"})
    department_id = fields.String()
    budget_line = fields.String()
    amount_fen = fields.Integer()


class LineAmount(Schema):
    budget_line = fields.String(required=True)
    amount_fen = fields.Integer(required=True)


class MonthAmount(Schema):
    month = fields.String(required=True)
    amount_fen = fields.Integer(required=True)
    lines = fields.List(fields.Nested(LineAmount), required=True)


class SettledOrder(Schema):
    on = fields.String(required=True)
    category = fields.String(required=True, allow_none=True)
    department_id = fields.String(required=True)
    budget_line = fields.String(required=True)
    fiscal_year = fields.Integer(required=True)
    amount_fen = fields.Integer(required=True)


class Received(Schema):
    total_fen = fields.Integer(required=True)
    by_line = fields.List(fields.Nested(LineAmount), required=True)
    by_month = fields.List(fields.Nested(MonthAmount), required=True)
    orders = fields.List(fields.Nested(SettledOrder), required=True, metadata={
        "description": "Each settlement to the community service centre, newest first."})


class DisclosedCommunity(Schema):
    """A community's public page (居务公开) as JSON; amounts in fen (CNY)."""

    id = fields.String(required=True)
    name = fields.String(required=True)
    type = fields.String(required=True, allow_none=True)
    as_of = fields.String(required=True, metadata={"description": "Local date."})
    months = fields.Nested(DisclosedPeriod, required=True)
    grids = fields.List(fields.Nested(DisclosedGrid), required=True)
    rates = fields.Nested(DisclosedRates, required=True)
    proposals = fields.List(fields.Nested(DisclosedProposal), required=True)
    notices = fields.List(fields.Nested(DisclosedNotice), required=True)
    received = fields.Nested(Received, required=True)


# Assessment (目标管理责任状, 五个好)

SHARE = validate.Range(min=0, max=1)


class ContractTargets(Strict):
    response_rate = fields.Float(load_default=None, allow_none=True, validate=SHARE, metadata={
        "description": "Minimum response rate, 0 to 1 (0.95 for 95 %)."})
    resolution_rate = fields.Float(load_default=None, allow_none=True, validate=SHARE)
    satisfaction_rate = fields.Float(load_default=None, allow_none=True, validate=SHARE)
    max_overdue_working_days = fields.Float(
        load_default=None, allow_none=True, validate=validate.Range(min=0), metadata={
            "description": "No round may run more working days past its due time."})

    @validates_schema
    def check_some_target(self, data, **kwargs):
        if all(data.get(t) is None for t in assessment.TARGETS):
            raise ValidationError(f"Set at least one of {', '.join(assessment.TARGETS)}.")


class ContractDefinition(Strict):
    targets = fields.Nested(ContractTargets, required=True)
    signed_by = fields.List(fields.String(validate=validate.Length(min=1, max=200)),
                            required=True, validate=validate.Length(min=1, max=10), metadata={
                                "description": "Who signed: the parties to the contract."})
    signed_on = fields.Date(load_default=None, allow_none=True)


class ContractView(ContractDefinition):
    signed_on = fields.String(allow_none=True, metadata={"description": "2026-01-05"})
    community_id = fields.String(required=True)
    year = fields.Integer(required=True)
    revision = fields.Integer(required=True)
    recorded_at = fields.String(required=True)
    recorded_by = fields.String(required=True)


class AssessmentQuery(Query):
    at = Moment(metadata={"description": "Report as at this moment (default now): the "
                                         "year to date, from what was known then."})


class AssessmentPeriod(Schema):
    community_id = fields.String(required=True)
    year = fields.Integer(required=True)
    at = fields.String(required=True)
    start = fields.String(data_key="from", required=True)
    end = fields.String(data_key="to", required=True)
    year_complete = fields.Boolean(required=True, metadata={
        "description": "The year is over at 'at': the statuses are final."})


class TargetProgress(Schema):
    target = fields.String(required=True, validate=validate.OneOf(assessment.TARGETS))
    limit = fields.Float(required=True, metadata={"description": "The contract's figure."})
    actual = fields.Float(required=True, allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(
        ("met", "at_risk", "not_met", "no_data")))
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    how = fields.String(required=True)
    worst = fields.Dict(allow_none=True, metadata={
        "description": "The most overdue round (overdue target only)."})


class ContractProgress(AssessmentPeriod):
    contract = fields.Nested(ContractView, required=True)
    targets = fields.List(fields.Nested(TargetProgress), required=True)


class ManualAssessment(Strict):
    score = fields.Float(required=True, validate=validate.Range(min=0, max=100))
    note = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    assessor = fields.String(required=True, validate=validate.Length(min=1, max=200))


class ManualAssessmentRecord(ManualAssessment):
    recorded_at = fields.String(required=True)
    recorded_by = fields.String(required=True)


class ManualAssessmentView(ManualAssessmentRecord):
    community_id = fields.String(required=True)
    year = fields.Integer(required=True)
    dimension = fields.String(required=True)


class DimensionScore(Schema):
    dimension = fields.String(required=True, validate=validate.OneOf(assessment.DIMENSIONS))
    score = fields.Float(required=True, allow_none=True, metadata={"description": "0 to 100"})
    source = fields.String(required=True, allow_none=True, metadata={
        "description": "data, manual, or null when there is no score"})
    weight = fields.Float(required=True)
    how = fields.String(required=True)
    inputs = fields.Dict(required=True)
    manual = fields.Nested(ManualAssessmentRecord, required=True, allow_none=True)


class ScorecardTotal(Schema):
    score = fields.Float(required=True, allow_none=True)
    complete = fields.Boolean(required=True)
    missing = fields.List(fields.String(), required=True)
    how = fields.String(required=True)


class Scorecard(AssessmentPeriod):
    dimensions = fields.List(fields.Nested(DimensionScore), required=True)
    total = fields.Nested(ScorecardTotal, required=True)


class ScorecardWeights(Strict):
    leadership = fields.Float(required=True, validate=validate.Range(min=0))
    cadres = fields.Float(required=True, validate=validate.Range(min=0))
    mechanisms = fields.Float(required=True, validate=validate.Range(min=0))
    results = fields.Float(required=True, validate=validate.Range(min=0))
    feedback = fields.Float(required=True, validate=validate.Range(min=0))

    @validates_schema
    def check_some_weight(self, data, **kwargs):
        if not any(data.values()):
            raise ValidationError("Give at least one dimension a weight above 0.")
# Spot checks

class Week(fields.String):
    """An ISO week, Monday to Sunday in Asia/Shanghai: 2026-W47."""

    def _deserialize(self, value, attr, data, **kwargs):
        week = super()._deserialize(value, attr, data, **kwargs)
        try:
            spot_checks.week_bounds(week)
        except ValueError:
            raise ValidationError("Give an ISO week such as 2026-W47 (weeks run Monday to "
                                  "Sunday, Asia/Shanghai).") from None
        return week


class DrawRequest(Strict):
    week = Week(required=True, metadata={"description": "The week to draw: 2026-W47."})
    grid_id = fields.String(load_default=None, validate=PLACE_ID, metadata={
        "description": "Draw this grid only; otherwise every grid of yours that closed "
                       "petitions in the week."})
    seed = fields.String(load_default=None, validate=validate.Length(min=1, max=200), metadata={
        "description": "The random seed, e.g. one announced in advance; a fresh one otherwise."})


class DrawsQuery(Query):
    week = Week(required=True)
    grid_id = fields.String(validate=PLACE_ID)


class Draw(Schema):
    id = fields.String(attribute="_id", required=True)
    grid_id = fields.String(required=True)
    week = fields.String(required=True)
    seed = fields.String(required=True)
    share = fields.Float(required=True)
    size = fields.Integer(required=True)
    population = fields.List(fields.String(), required=True, metadata={
        "description": "The petitions closed in the grid that week, sorted."})
    drawn = fields.List(fields.String(), required=True, metadata={
        "description": "random.Random(seed).sample(population, size)"})
    drawn_at = fields.String(required=True)
    drawn_by = fields.String(required=True)
    new = fields.Boolean(metadata={"description": "False: the week was drawn before, and this "
                                                  "is that draw."})


class Draws(Schema):
    week = fields.String(required=True)
    draws = fields.List(fields.Nested(Draw), required=True)


class SpotChecksQuery(Query):
    grid_id = fields.String(validate=PLACE_ID)
    week = Week()
    state = fields.String(validate=validate.OneOf(spot_checks.STATES))


class Checker(Schema):
    kind = fields.String(required=True, metadata={"description": " or ".join(spot_checks.CHECKERS)})
    id = fields.String(required=True, metadata={
        "description": "A livelihood supervisor's person id (their token's volunteer_id), or "
                       "inspection-<sub_district_id>."})
    name = fields.String(required=True)


class SpotCheck(Schema):
    id = fields.String(attribute="_id", required=True)
    draw_id = fields.String(required=True)
    grid_id = fields.String(required=True)
    week = fields.String(required=True)
    petition_id = fields.String(required=True)
    closed_at = fields.String(required=True)
    outcome = fields.String(required=True)
    handler = fields.String(required=True, allow_none=True)
    checker = fields.Nested(Checker, required=True)
    state = fields.String(required=True)
    assigned_at = fields.String(required=True)
    note = fields.String(required=True, allow_none=True)
    decided_by = fields.String(required=True, allow_none=True)
    decided_at = fields.String(required=True, allow_none=True)


class SpotCheckList(Schema):
    spot_checks = fields.List(fields.Nested(SpotCheck), required=True)


class SpotCheckDecision(Strict):
    note = fields.String(required=True, validate=[validate.Length(max=2000), validate.Regexp(
        r"^\s*\S", error="Say what you found: the note is the record of the check.")],
        metadata={"description": "What the checker found; on an overturn, the reason the "
                                 "petition is reopened."})

