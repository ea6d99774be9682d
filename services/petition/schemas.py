from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from services.petition import domain, proposals
from services.petition.categories import DATATYPES
from shared.catalogue import RETURN_REASONS, Location
from shared.schemas import Moment, Query, Strict

ID = validate.Length(min=1, max=64)
ACTOR = fields.String(required=True, validate=ID,
                      metadata={"description": "Who acts: a staff member's or team's id."})


class Reporter(Strict):
    name = fields.String(load_default=None, validate=validate.Length(min=1, max=50))
    phone = fields.String(load_default=None, validate=validate.Regexp(
        r"^\+?[0-9][0-9 -]{4,19}$", error="Give a phone number of 5 to 20 digits."))
    email = fields.Email(load_default=None)
    anonymous = fields.Boolean(load_default=False)

    @validates_schema
    def named_unless_anonymous(self, data, **kwargs):
        if not data["anonymous"] and not data.get("name"):
            raise ValidationError("Give your name, or set anonymous to true.", "name")


class Attachment(Strict):
    """A photo or document stored elsewhere, by reference: the platform keeps no files."""

    url = fields.Url(required=True, schemes={"http", "https"}, validate=validate.Length(max=2000))
    kind = fields.String(load_default="photo",
                         validate=validate.OneOf(("photo", "video", "audio", "document")))
    description = fields.String(load_default=None, validate=validate.Length(max=200))


class RaisePetition(Strict):
    grid_id = fields.String(load_default=None, validate=ID, metadata={
        "description": "The grid, if the reporter knows it; otherwise found from the location."})
    category = fields.String(required=True, validate=ID)
    description = fields.String(required=True, validate=validate.Length(min=5, max=4000))
    location = fields.Nested(Location(unknown=RAISE), required=True)
    channel = fields.String(load_default="online_platform",
                            validate=validate.OneOf(domain.CHANNELS))
    attributes = fields.Dict(keys=fields.String(), load_default=dict)
    attachments = fields.List(fields.Nested(Attachment), load_default=list,
                              validate=validate.Length(max=10))
    reporter = fields.Nested(Reporter, required=True)
    proposal_id = fields.String(load_default=None, validate=ID, metadata={
        "description": "The adopted resident proposal this petition carries out, if any."})


class StaffNote(Strict):
    actor = ACTOR
    reason = fields.String(load_default=None, validate=validate.Length(max=2000))


class StaffReason(Strict):
    actor = ACTOR
    reason = fields.String(required=True, validate=validate.Length(min=2, max=2000))


class Return(StaffReason):
    return_reason = fields.String(required=True, validate=validate.OneOf(RETURN_REASONS),
                                  metadata={"description": "Why it is not the handler's."})


class Merge(StaffReason):
    into = fields.String(required=True, validate=ID)


class FollowUp(Strict):
    """The resident's rating after resolution, online or by a follow-up call (回访)."""

    rating = fields.Integer(required=True, validate=validate.Range(1, 5))
    comment = fields.String(load_default=None, validate=validate.Length(max=2000))
    cause = fields.String(load_default="handler", validate=validate.OneOf(
        ("handler", "outside_handler")), metadata={
        "description": "Whose doing a poor rating is: the handler's reopens the petition."})
    by = fields.String(load_default="resident", validate=validate.OneOf(
        ("resident", "follow_up_call")))
    actor = fields.String(load_default="resident", validate=ID)


class AttributeValue(Strict):
    key = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))


class AttributeDefinition(Strict):
    code = fields.String(required=True, validate=validate.Regexp(
        r"^[a-z][a-z0-9_]{0,39}$", error="Use lower-case letters, digits and _ (up to 40)."))
    description = fields.String(required=True, validate=validate.Length(min=1, max=200))
    datatype = fields.String(required=True, validate=validate.OneOf(DATATYPES))
    required = fields.Boolean(load_default=False)
    variable = fields.Boolean(load_default=True)
    order = fields.Integer(load_default=1, validate=validate.Range(min=1))
    datatype_description = fields.String(load_default=None, allow_none=True)
    values = fields.List(fields.Nested(AttributeValue), load_default=list)


class CategoryDefinition(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    group = fields.String(required=True, validate=validate.Length(min=1, max=100))
    description = fields.String(required=True, validate=validate.Length(min=1, max=500))
    keywords = fields.List(fields.String(validate=validate.Length(max=40)), load_default=list)
    active = fields.Boolean(load_default=True)
    attributes = fields.List(fields.Nested(AttributeDefinition), load_default=list)


class StaffQuery(Query):
    grid_id = fields.String(validate=ID)
    community_id = fields.String(validate=ID)
    state = fields.String(validate=validate.OneOf(domain.STATES))
    category = fields.String(validate=ID)
    channel = fields.String(validate=validate.OneOf(domain.CHANNELS))
    raised_from = Moment()
    raised_to = Moment()
    overdue = fields.Boolean()
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    cursor = fields.String(validate=validate.Length(max=200))


class Category(Schema):
    code = fields.String(attribute="_id")
    name = fields.String()
    group = fields.String()
    description = fields.String()
    keywords = fields.List(fields.String())
    active = fields.Boolean()
    attributes = fields.List(fields.Dict())


class TimelineEntry(Schema):
    at = fields.String()
    type = fields.String()
    event_id = fields.String()
    # Lines written before actors were recorded name the service instead.
    actor = fields.Function(lambda entry: entry.get("actor") or entry.get("service"))
    summary = fields.String()


class PublicPetition(Schema):
    """A petition as anyone may see it: no contact details, no category details that
    might identify the resident, and the reporter named only if they chose to be."""

    id = fields.String(attribute="_id")
    grid_id = fields.String()
    community_id = fields.String()
    category = fields.String()
    description = fields.String()
    location = fields.Nested(Location)
    channel = fields.String()
    state = fields.String()
    round = fields.Integer()
    handler = fields.Function(lambda p: (p.get("handler") or {}).get("name"))
    finish_by = fields.String()
    escalation_level = fields.Integer()
    merged_into = fields.String()
    outcome = fields.String()
    raised_at = fields.String()
    updated_at = fields.String()
    closed_at = fields.String()
    reported_by = fields.Function(lambda p: domain.reporter_for_public(p["reporter"]))
    attachments = fields.List(fields.Dict())


class StaffPetition(PublicPetition):
    """Everything staff need to handle it; the reporter's contact is masked unless
    the role contacts residents (see ``domain.reporter_for_staff``)."""

    attributes = fields.Dict()
    proposal_id = fields.String()
    duplicate_candidates = fields.List(fields.Dict())
    merged_petitions = fields.List(fields.String())
    ratings = fields.List(fields.Dict())
    acknowledge_by = fields.String()
    funding = fields.Dict()
    returns = fields.Integer()
    allowed = fields.Function(lambda p: domain.LIFECYCLE.allowed(p["state"]))
    reporter = fields.Method("reporter_view")

    def reporter_view(self, petition):
        return domain.reporter_for_staff(petition["reporter"], self.context_role)

    def __init__(self, role=None, **kwargs):
        super().__init__(**kwargs)
        self.context_role = role


class MapPetition(Schema):
    """A petition on the public map: where to about 100 m, what, and how far along."""

    id = fields.String(attribute="_id")
    category = fields.String()
    state = fields.String()
    raised_at = fields.String()
    location = fields.Function(lambda p: {"lat": round(p["location"]["lat"], 3),
                                          "lng": round(p["location"]["lng"], 3)})


# Resident proposals (居民议案): requests are strict; the rules that depend on the
# proposal itself (a rejection needs a consultation, a tally must add up, the notice
# window) are the domain's, in proposals.py.

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


# Answers that wrap the views above

class Timeline(Schema):
    petition_id = fields.String(required=True)
    state = fields.String(required=True)
    timeline = fields.List(fields.Nested(TimelineEntry), required=True)


class StaffPage(Schema):
    petitions = fields.List(fields.Nested(StaffPetition), required=True)
    next_cursor = fields.String(allow_none=True, required=True, metadata={
        "description": "Pass as ?cursor= for the next page; null on the last page."})


class MapPage(Schema):
    grid_id = fields.String(required=True)
    petitions = fields.List(fields.Nested(MapPetition), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class GridName(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    community_id = fields.String(required=True)


class Grids(Schema):
    grids = fields.List(fields.Nested(GridName), required=True)


class Categories(Schema):
    categories = fields.List(fields.Nested(Category), required=True)


class FiguresQuery(Query):
    area_id = fields.String(validate=ID, metadata={
        "description": "A grid, workstation, community, sub-district or district; without it, "
                       "all of your grids."})
    from_ = Moment(data_key="from", attribute="from", metadata={
        "description": "Petitions raised from this time on."})
    to = Moment(metadata={"description": "... and before this."})


class ProposalQuery(Query):
    community_id = fields.String(validate=ID)


class TrackedWork(Schema):
    petition_id = fields.String(required=True)
    category = fields.String(required=True)
    state = fields.String(required=True)


class ProposalView(PublicProposal):
    work = fields.List(fields.Nested(TrackedWork), required=True, metadata={
        "description": "Petitions raised as the work of an adopted proposal."})


class Proposals(Schema):
    proposals = fields.List(fields.Nested(PublicProposal), required=True)


# Open311 GeoReport v2 answers, in the spec's field names

class Open311Error(Schema):
    code = fields.Integer(required=True)
    description = fields.String(required=True)


class Open311Service(Schema):
    service_code = fields.String(required=True)
    service_name = fields.String(required=True)
    description = fields.String(allow_none=True)
    metadata = fields.Boolean(required=True)
    type = fields.String(required=True, validate=validate.OneOf(["realtime", "batch",
                                                                  "blackbox"]))
    keywords = fields.String(allow_none=True)
    group = fields.String(allow_none=True)


class Open311Definition(Schema):
    service_code = fields.String(required=True)
    attributes = fields.List(fields.Dict(), required=True)


class Open311Request(Schema):
    service_request_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["open", "closed"]))
    status_notes = fields.String(allow_none=True)
    service_name = fields.String(allow_none=True)
    service_code = fields.String(required=True)
    description = fields.String(allow_none=True)
    agency_responsible = fields.String(allow_none=True)
    service_notice = fields.String(allow_none=True)
    requested_datetime = fields.String(allow_none=True)
    updated_datetime = fields.String(allow_none=True)
    expected_datetime = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    address_id = fields.String(allow_none=True)
    zipcode = fields.String(allow_none=True)
    lat = fields.Float(required=True)
    long = fields.Float(required=True)
    media_url = fields.String(allow_none=True)


class Open311Created(Schema):
    service_request_id = fields.String(required=True)
    token = fields.String(allow_none=True)
    service_notice = fields.String(allow_none=True)
    account_id = fields.String(allow_none=True)


class Open311Token(Schema):
    service_request_id = fields.String(required=True)
    token = fields.String(required=True)
