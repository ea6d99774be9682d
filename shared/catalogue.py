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
    """Who does the work: a volunteer team, a grid's butler team (管家团队) or one role
    in it, or a functional department (which takes no volunteer task)."""

    kind = fields.String(required=True, validate=validate.OneOf(
        ["volunteer_team", "butler_team", "department"]))
    team_id = fields.String(load_default=None, allow_none=True)
    role = fields.String(load_default=None, allow_none=True)
    department_id = fields.String(load_default=None, allow_none=True)
    skill = fields.String(load_default=None, allow_none=True)  # the skill the rule asked for
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
    sub_district_id = fields.String(load_default=None, allow_none=True)
    district_id = fields.String(load_default=None, allow_none=True)
    # GeoJSON Polygon or MultiPolygon as text (shared/geo.py says why)
    boundary = fields.String(load_default=None, allow_none=True)
    # role -> [{"id", "name"}]: the grid's butler team, public officials
    butler_team = fields.Dict(load_default=dict)
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
    community_id = fields.String(required=True)
    category = fields.String(required=True)
    description = fields.String(required=True)
    location = fields.Nested(Location, required=True)
    channel = fields.String(required=True)
    attributes = fields.Dict(required=True)
    attachments = fields.List(fields.Dict(), required=True)
    duplicate_candidates = fields.List(fields.String(), required=True)
    proposal_id = fields.String(required=True, allow_none=True)


class PetitionStep(Schema):
    """What every petition lifecycle event carries: whose petition, who acted, why."""

    petition_id = fields.String(required=True)
    actor = fields.String(required=True)
    reason = fields.String(load_default=None, allow_none=True)


class PetitionAccepted(PetitionStep):
    """Accepted for handling (受理): the dispatcher's cue, carrying what it routes on."""

    grid_id = fields.String(required=True)
    community_id = fields.String(required=True)
    category = fields.String(required=True)
    location = fields.Nested(Location, required=True)
    round = fields.Integer(required=True)


class PetitionRoundStep(PetitionStep):
    round = fields.Integer(required=True)


RETURN_REASONS = ("wrong_area", "not_our_duty", "needs_other_department")


class PetitionSentBack(PetitionStep):
    """Returned by its handler (退单) or reopened after a poor rating: dispatch it again."""

    grid_id = fields.String(required=True)
    community_id = fields.String(required=True)
    category = fields.String(required=True)
    location = fields.Nested(Location, required=True)
    round = fields.Integer(required=True)
    previous_handler = fields.Nested(Handler, required=True, allow_none=True)
    return_reason = fields.String(load_default=None, allow_none=True,
                                  validate=validate.OneOf(RETURN_REASONS))


class PetitionMerged(PetitionStep):
    into = fields.String(required=True)


class PetitionEscalated(PetitionStep):
    level = fields.Integer(required=True)


class PetitionVerified(PetitionStep):
    rating = fields.Integer(required=True)
    satisfied = fields.Boolean(required=True)


class PetitionClosed(PetitionStep):
    outcome = fields.String(required=True)


class SpotCheckOverturned(PetitionStep):
    """``actor`` is the checker (the grid's livelihood supervisor or an inspection team)."""

    spot_check_id = fields.String(required=True)
    grid_id = fields.String(required=True)


class ProposalStep(Schema):
    proposal_id = fields.String(required=True)
    community_id = fields.String(required=True)
    state = fields.String(required=True)


class ProposalSubmitted(ProposalStep):
    title = fields.String(required=True)


class ProposalReviewed(ProposalStep):
    decision = fields.String(required=True)
    opinion = fields.String(required=True)


class ProposalVoted(ProposalStep):
    motion = fields.String(required=True)
    members = fields.Integer(required=True)
    present = fields.Integer(required=True)
    in_favour = fields.Integer(required=True)
    against = fields.Integer(required=True)
    abstaining = fields.Integer(required=True)
    quorate = fields.Boolean(required=True)
    carried = fields.Boolean(required=True)


class ProposalObjected(ProposalStep):
    objection_id = fields.String(required=True)


class ProposalConcluded(ProposalStep):
    outcome = fields.String(required=True)


class PetitionDispatched(Schema):
    petition_id = fields.String(required=True)
    grid_id = fields.String(required=True)
    community_id = fields.String(required=True)
    category = fields.String(required=True)
    round = fields.Integer(required=True)
    rule_id = fields.String(required=True)
    handler = fields.Nested(Handler, required=True)
    funding = fields.Nested(Funding, required=True, allow_none=True)
    acknowledge_by = fields.AwareDateTime(required=True, format="iso")
    due_by = fields.AwareDateTime(required=True, format="iso")
    final = fields.Boolean(load_default=False)  # the arbiter's ruling: it cannot be returned
    places = fields.Integer(load_default=1)  # how many volunteers the work needs
    urgent = fields.Boolean(load_default=False)
    # The grid's workstation, community, sub-district and district as the registry had
    # them: where the petition counts. Absent from events sent before 2026-12-04.
    places_above = fields.List(fields.String(), load_default=None)


class TaskOpened(Schema):
    task_id = fields.String(required=True)
    petition_id = fields.String(required=True)
    round = fields.Integer(required=True)
    team_id = fields.String(required=True)


class TaskClaimed(Schema):
    task_id = fields.String(required=True)
    petition_id = fields.String(required=True)
    round = fields.Integer(required=True)
    team_id = fields.String(required=True)
    volunteer_id = fields.String(required=True)


class TaskStep(Schema):
    task_id = fields.String(required=True)
    petition_id = fields.String(required=True)
    round = fields.Integer(required=True)
    team_id = fields.String(required=True)
    volunteer_id = fields.String(load_default=None, allow_none=True)
    reason = fields.String(load_default=None, allow_none=True)


class TaskReleased(TaskStep):
    team_leader_id = fields.String(load_default=None, allow_none=True)


class VolunteerReported(Schema):
    """An in-service party member reported to the community (在职党员到社区报到)."""

    report_id = fields.String(required=True)
    volunteer_id = fields.String(required=True)
    community_id = fields.String(required=True)


class TaskCompleted(Schema):
    task_id = fields.String(required=True)
    petition_id = fields.String(required=True)
    round = fields.Integer(required=True)
    team_id = fields.String(required=True)
    volunteer_id = fields.String(required=True)
    hours = fields.Float(required=True, validate=validate.Range(min=0))
    cost_fen = fields.Integer(required=True, validate=validate.Range(min=0))
    funding = fields.Nested(Funding, required=True, allow_none=True)
    verified_by = fields.String(load_default=None, allow_none=True)


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


class TeamRegistered(Schema):
    team_id = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    skills = fields.List(fields.String(), required=True)


class DispatchStep(Schema):
    """A step of the dispatcher's clocks for one round of a petition."""

    petition_id = fields.String(required=True)
    round = fields.Integer(required=True)
    grid_id = fields.String(required=True)


class DispatchReminded(DispatchStep):
    clock = fields.String(required=True)  # acknowledge or finish
    deadline = fields.AwareDateTime(required=True, format="iso")
    handler = fields.Nested(Handler, required=True)


class DispatchEscalated(DispatchReminded):
    level = fields.Integer(required=True)
    to_place = fields.String(required=True)


class ExtensionRequested(DispatchStep):
    actor = fields.String(required=True)
    reason = fields.String(required=True)
    working_days = fields.Float(required=True)


class ExtensionDecided(DispatchStep):
    actor = fields.String(required=True)
    approved = fields.Boolean(required=True)
    reason = fields.String(load_default=None, allow_none=True)
    due_by = fields.AwareDateTime(required=True, format="iso")


class ArbitrationRequested(DispatchStep):
    returns = fields.Integer(required=True)
    excluded = fields.List(fields.String(), required=True)


class FundsStep(Schema):
    """A step of the money for one order (a petition's dispatch round)."""

    petition_id = fields.String(required=True)
    round = fields.Integer(required=True)
    department_id = fields.String(required=True)
    budget_line = fields.String(required=True)
    fiscal_year = fields.Integer(required=True)
    amount_fen = fields.Integer(required=True)
    currency = fields.String(required=True)
    reason = fields.String(load_default=None, allow_none=True)


class FundsBlocked(FundsStep):
    stage = fields.String(required=True)  # hold or capture
    available_fen = fields.Integer(required=True)


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


FOLLOW = (("petition", "follow"),)

CATALOGUE = Catalogue(
    EventType("grid.registered.v1", "grid", GridRegistered,
              (("petition", "track_grid"), ("volunteer", "track_butler_team")),
              "A grid was added to the registry or its details changed."),
    EventType("petition.raised.v1", "petition", PetitionRaised, (),
              "A resident raised a petition in a grid (flagged with any likely duplicates)."),
    EventType("petition.accepted.v1", "petition", PetitionAccepted, (("grid", "dispatch"),),
              "The petition was accepted for handling (受理) and awaits dispatch."),
    EventType("petition.rejected.v1", "petition", PetitionStep,
              (("petition", "close_merged"), ("grid", "track_progress"),
               ("volunteer", "cancel_tasks"), ("funding", "release")),
              "The petition was rejected, with the reason; petitions merged into it close too."),
    EventType("petition.merged.v1", "petition", PetitionMerged,
              (("petition", "absorb_duplicate"),),
              "The petition was merged as a duplicate into another; its reporter shares that outcome."),
    EventType("petition.dispatched.v1", "grid", PetitionDispatched,
              FOLLOW + (("volunteer", "open_task"), ("funding", "hold"), ("grid", "evaluate"),
                        ("grid", "disclose")),
              "The dispatcher chose who handles the petition, who pays and by when (派单)."),
    EventType("petition.acknowledged.v1", "petition", PetitionRoundStep,
              (("grid", "track_progress"), ("grid", "evaluate")),
              "The handler signed for the petition (签收)."),
    EventType("petition.progressed.v1", "petition", PetitionRoundStep, (),
              "The handler reported progress."),
    EventType("petition.resolved.v1", "petition", PetitionRoundStep,
              (("grid", "track_progress"), ("grid", "evaluate")),
              "The handler finished the work; the resident is asked to rate it."),
    EventType("petition.returned.v1", "petition", PetitionSentBack,
              (("grid", "redispatch"), ("volunteer", "cancel_tasks"), ("funding", "release"),
               ("grid", "evaluate")),
              "The handler returned the petition as not theirs (退单); it is dispatched again."),
    EventType("petition.reopened.v1", "petition", PetitionSentBack,
              (("grid", "redispatch"), ("volunteer", "cancel_tasks"), ("funding", "release"),
               ("grid", "evaluate")),
              "The resident was not satisfied for a cause the handler owns; it is handled again."),
    EventType("petition.escalated.v1", "petition", PetitionEscalated, (),
              "The petition is under supervision (督办): overdue, or escalated by staff."),
    EventType("petition.verified.v1", "petition", PetitionVerified, (("grid", "evaluate"),),
              "The follow-up (回访) recorded the resident's rating of the resolution."),
    EventType("petition.closed.v1", "petition", PetitionClosed,
              (("petition", "close_merged"), ("grid", "evaluate")),
              "The petition was closed with its outcome; petitions merged into it close too."),
    EventType("dispatch.reminded.v1", "grid", DispatchReminded, FOLLOW,
              "A deadline passed: the handler is reminded (催办)."),
    EventType("dispatch.escalated.v1", "grid", DispatchEscalated, FOLLOW,
              "Still not done: supervision (督办) moves one level up, to the workstation, "
              "then the sub-district."),
    EventType("dispatch.extension_requested.v1", "grid", ExtensionRequested, FOLLOW,
              "The handler asked for more time; the finish clock pauses."),
    EventType("dispatch.extension_decided.v1", "grid", ExtensionDecided, FOLLOW,
              "The extension was granted or refused; the finish clock resumes."),
    EventType("dispatch.arbitration_requested.v1", "grid", ArbitrationRequested, FOLLOW,
              "Returned too often: a human arbiter must rule who handles it."),
    EventType("spot_check.overturned.v1", "grid", SpotCheckOverturned,
              (("grid", "evaluate"), ("petition", "reopen_after_spot_check")),
              "A spot check (抽查) found the petition's outcome wrong: it is reopened, and the "
              "round counts against its handler."),
    EventType("team.registered.v1", "volunteer", TeamRegistered, (("grid", "track_team"),),
              "A team was registered or changed, with the skills it covers."),
    EventType("task.opened.v1", "volunteer", TaskOpened, FOLLOW,
              "A task was opened for the handling team."),
    EventType("task.claimed.v1", "volunteer", TaskClaimed, FOLLOW,
              "A team member claimed a place on the task: the handler has signed for the petition."),
    EventType("task.released.v1", "volunteer", TaskReleased, FOLLOW,
              "A claim was given up, or lapsed with no progress in time (the team leader is told)."),
    EventType("task.progressed.v1", "volunteer", TaskStep, FOLLOW,
              "A claimant reported progress: the work is in progress."),
    EventType("task.submitted.v1", "volunteer", TaskStep, FOLLOW,
              "The work was reported done; it awaits the grid leader's verification or the "
              "resident's confirmation."),
    EventType("task.verification_declined.v1", "volunteer", TaskStep, FOLLOW,
              "The grid leader did not accept the work, and said why: it goes back to the claimants."),
    EventType("task.completed.v1", "volunteer", TaskCompleted,
              FOLLOW + (("funding", "settle"), ("volunteer", "deposit_hours"),
                        ("grid", "track_volunteer_work")),
              "The work was done and verified, with hours and cost: the petition is resolved."),
    EventType("task.cancelled.v1", "volunteer", TaskStep, FOLLOW,
              "The petition was returned, reopened or rejected: this round's task is withdrawn."),
    EventType("petition.work_confirmed.v1", "petition", PetitionRoundStep,
              (("volunteer", "verify_by_resident"),),
              "The resident confirmed the work was done: it counts as verified."),
    EventType("volunteer.reported.v1", "volunteer", VolunteerReported,
              (("grid", "track_party_report"),),
              "An in-service party member reported to the community (报到)."),
    EventType("funds.held.v1", "funding", FundsStep, FOLLOW + (("volunteer", "track_funding"),),
              "The estimate was held on the department's budget line (committed)."),
    EventType("funds.released.v1", "funding", FundsStep, FOLLOW,
              "A hold was released back to the budget line: the order was returned, reopened "
              "or rejected."),
    EventType("funds.blocked.v1", "funding", FundsBlocked,
              FOLLOW + (("volunteer", "track_funding"), ("grid", "disclose")),
              "The budget line cannot cover the order: funding is blocked, the department is "
              "told and the petition escalated."),
    EventType("funds.approval_requested.v1", "funding", FundsStep, FOLLOW,
              "The actual cost is above the hold: capturing it needs a recorded approval."),
    EventType("funds.settled.v1", "funding", FundsSettled, FOLLOW + (("grid", "disclose"),),
              "The cost moved from the department's budget line to the community service centre."),
    EventType("proposal.submitted.v1", "petition", ProposalSubmitted, (("grid", "disclose"),),
              "Residents submitted a proposal (居民议案) for the community party branch to review."),
    EventType("proposal.reviewed.v1", "petition", ProposalReviewed, (("grid", "disclose"),),
              "The party branch endorsed the proposal or, having consulted residents, "
              "proposes to reject it; either way the assembly votes next."),
    EventType("proposal.voted.v1", "petition", ProposalVoted, (("grid", "disclose"),),
              "The residents' representatives' assembly voted, with the tally."),
    EventType("proposal.objected.v1", "petition", ProposalObjected, (("grid", "disclose"),),
              "A resident objected during the public notice (公示)."),
    EventType("proposal.concluded.v1", "petition", ProposalConcluded, (("grid", "disclose"),),
              "The public notice ended: the proposal is adopted, rejected or sent back for review."),
)
