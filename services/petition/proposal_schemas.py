"""Requests about resident proposals (居民议案), and the proposal as anyone may see it.

Requests are strict (a misspelt field is an error); the rules that depend on the
proposal itself (a rejection needs a consultation, a tally must add up, the
notice window) are the domain's, in ``proposals.py``.
"""

from marshmallow import Schema, fields, validate

from services.petition import proposals
from shared.schemas import Strict

ID = validate.Length(min=1, max=64)
ACTOR = fields.String(required=True, validate=ID,
                      metadata={"description": "Who acts: a staff member's, branch's or assembly's id."})
COUNT = validate.Range(min=0)


class SubmitProposal(Strict):
    community_id = fields.String(required=True, validate=ID)
    title = fields.String(required=True, validate=validate.Length(min=3, max=200))
    text = fields.String(required=True, validate=validate.Length(min=10, max=4000))
    submitted_by = fields.String(required=True, validate=validate.Length(min=1, max=100), metadata={
        "description": "A public display name, such as 'Residents of building 5'."})
    supporters = fields.Integer(load_default=1, validate=validate.Range(min=1), metadata={
        "description": "How many residents support the proposal."})


class Consultation(Strict):
    """The branch's consultation with residents, required before it proposes rejection."""

    held_on = fields.Date(required=True)
    residents_consulted = fields.Integer(required=True, validate=validate.Range(min=1))
    summary = fields.String(required=True, validate=validate.Length(min=5, max=2000), metadata={
        "description": "What the residents said."})


class ReviewProposal(Strict):
    decision = fields.String(required=True, validate=validate.OneOf(proposals.DECISIONS))
    opinion = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    actor = ACTOR
    consultation = fields.Nested(Consultation, allow_none=True, load_default=None, metadata={
        "description": "Required when the decision is reject."})


class AssemblyVote(Strict):
    """The tally: every member present counted once, in favour, against or abstaining."""

    members = fields.Integer(required=True, validate=validate.Range(min=1))
    present = fields.Integer(required=True, validate=COUNT)
    in_favour = fields.Integer(required=True, validate=COUNT)
    against = fields.Integer(required=True, validate=COUNT)
    abstaining = fields.Integer(required=True, validate=COUNT)
    actor = ACTOR


class Objection(Strict):
    grounds = fields.String(required=True, validate=validate.Length(min=5, max=2000))
    by = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=100),
                       metadata={"description": "A public name, or none to object anonymously."})


class ConcludeNotice(Strict):
    actor = ACTOR
    answers = fields.Dict(keys=fields.String(validate=ID),
                          values=fields.String(validate=validate.Length(min=1, max=2000)),
                          load_default=dict, metadata={
                              "description": "A public answer to each objection, by its id (O1, O2, ...)."})
    withdraw = fields.Boolean(load_default=False, metadata={
        "description": "Uphold the objections: withdraw the result and return the proposal to review."})


class PublicConsultation(Schema):
    held_on = fields.String()  # stored as an ISO date
    residents_consulted = fields.Integer()
    summary = fields.String()


class PublicReview(Schema):
    decision = fields.String()
    opinion = fields.String()
    actor = fields.String()
    consultation = fields.Nested(PublicConsultation, allow_none=True)
    at = fields.String()


class PublicVote(Schema):
    motion = fields.String()
    members = fields.Integer()
    present = fields.Integer()
    in_favour = fields.Integer()
    against = fields.Integer()
    abstaining = fields.Integer()
    quorate = fields.Boolean()
    carried = fields.Boolean()
    actor = fields.String()
    at = fields.String()


class PublicNotice(Schema):
    outcome = fields.String()
    from_ = fields.String(data_key="from", attribute="from")
    until = fields.String()


class PublicObjection(Schema):
    id = fields.String()
    grounds = fields.String()
    by = fields.String(allow_none=True)
    at = fields.String()
    answer = fields.String(allow_none=True)


class HistoryEntry(Schema):
    at = fields.String()
    step = fields.String()
    actor = fields.String()
    summary = fields.String()


class PublicProposal(Schema):
    """A proposal as anyone may see it: everything, the votes and objections included."""

    id = fields.String(attribute="_id")
    community_id = fields.String()
    title = fields.String()
    text = fields.String()
    submitted_by = fields.String()
    supporters = fields.Integer()
    state = fields.String()
    submitted_at = fields.String()
    review = fields.Nested(PublicReview, allow_none=True)
    motion = fields.String(allow_none=True)
    votes = fields.List(fields.Nested(PublicVote))
    notice = fields.Nested(PublicNotice, allow_none=True)
    objections = fields.List(fields.Nested(PublicObjection))
    outcome = fields.String(allow_none=True)
    concluded_at = fields.String(allow_none=True)
    history = fields.List(fields.Nested(HistoryEntry))
