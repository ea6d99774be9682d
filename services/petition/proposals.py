"""Resident proposals (居民议案): how residents put a major matter to their community.

The procedure, step by step::

    submit ─▶ under_review ─review─▶ awaiting_vote ─vote─▶ on_notice ─conclude─▶ adopted
                 ▲                     │   ▲                  │  ▲              └▶ rejected
                 │                     └───┘ not quorate      │  └─object (during the window)
                 ├──── vote: the branch's rejection failed ───┘
                 └──── conclude with withdraw: objections upheld

1. Residents submit a proposal about a major matter of the community, under a
   public display name ("Residents of building 5") with the number of
   supporters who signed it.
2. The community party branch reviews it first. It either endorses it (the
   assembly then votes on a motion to *adopt*) or means to reject it. A branch
   that means to reject must first record that it consulted residents (when, how
   many, what they said), and its rejection is only a motion: the assembly
   votes on a motion to *reject*.
3. The residents' representatives' assembly votes. A vote is quorate when more
   than ``quorum`` of the members are present; a motion carries when more than
   ``majority`` of those present vote for it (see ``AssemblyRules``). An
   inquorate vote is recorded, and the assembly must meet again. A motion to
   adopt that fails rejects the proposal; a motion to reject that fails lacked
   the residents' majority, so the proposal goes back to the branch to review
   again.
4. The result is put on public notice (公示) for ``notice_days`` days, during
   which any resident may object.
5. When the window has closed and every objection has a public answer, the
   notice concludes: the result stands (adopted or rejected), or, if the
   objections are upheld, it is withdrawn and the proposal returns to review.

Adopted proposals become tracked work: petitions name the proposal they carry
out (``proposal_id``); that linking is done by the petition service, not here.

Everything about a proposal is public, its votes and objections included, so
every step also appends a line in words to its ``history``.

Like the petition domain, this module is plain Python: each command takes its
inputs, then the proposal (so it can be partially applied and handed to a
store's get-act-save loop), and returns a ``Change`` with the event it causes.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from shared.catalogue import CATALOGUE
from shared.domain import Change, settings_from_config
from shared.errors import Conflict, InvalidFields
from shared.events import new_event
from shared.lifecycle import Lifecycle

DECISIONS = ("endorse", "reject")
OUTCOMES = ("adopted", "rejected")
FINAL = OUTCOMES
STATES = ("under_review", "awaiting_vote", "on_notice", *FINAL)
COUNTS = ("members", "present", "in_favour", "against", "abstaining")

LIFECYCLE = Lifecycle("proposal", {
    "review": ({"under_review"}, "awaiting_vote"),
    "vote": ({"awaiting_vote"}, None),  # the tally decides where it goes
    "object": ({"on_notice"}, None),
    "conclude": ({"on_notice"}, None),  # adopted, rejected, or back to under_review
})


@dataclass(frozen=True)
class AssemblyRules:
    """How the residents' representatives' assembly decides, and how long results are on notice.

    A vote is quorate when ``present > quorum * members``; a motion carries when
    it is quorate and ``in_favour > majority * present``. Both are strict: with
    the defaults, exactly half the members present is not a quorum, and exactly
    half of those present in favour does not carry. For a two-thirds majority
    give ``majority=2/3`` (then exactly two thirds is not enough either).
    """

    quorum: float = 0.5
    majority: float = 0.5
    notice_days: float = 7.0

    def __post_init__(self):
        # A misconfigured assembly would decide wrongly for months: fail at start-up.
        if not 0 <= self.quorum < 1:
            raise ValueError(f"PROPOSAL_QUORUM is {self.quorum}; give a fraction from 0 to below 1.")
        if not 0 <= self.majority < 1:
            raise ValueError(f"PROPOSAL_MAJORITY is {self.majority}; give a fraction from 0 to "
                             "below 1 (at 1 no motion could ever carry).")
        if self.notice_days <= 0:
            raise ValueError(f"PROPOSAL_NOTICE_DAYS is {self.notice_days}; give a positive "
                             "number of days so residents can object.")

    @classmethod
    def from_config(cls, config):
        """``PROPOSAL_QUORUM``, ``PROPOSAL_MAJORITY``, ``PROPOSAL_NOTICE_DAYS``."""
        return settings_from_config(cls, config, "PROPOSAL")

    def quorate(self, members: int, present: int) -> bool:
        return present > self.quorum * members

    def carried(self, present: int, in_favour: int) -> bool:
        return in_favour > self.majority * present


def new_proposal_id() -> str:
    return f"R-{uuid.uuid4().hex[:12]}"


def is_final(proposal: dict) -> bool:
    return proposal["state"] in FINAL


def submit(proposal_id: str, request: dict, now: datetime, correlation_id: str):
    """A new proposal, under review by the party branch; returns it and its event.

    ``request``: ``{"community_id": "c-hexi", "title": "Install a lift in building 5",
    "text": "...", "submitted_by": "Residents of building 5", "supporters": 42}``
    """
    at = _iso(now)
    request = {"community_id": request["community_id"], "title": request["title"],
               "text": request["text"], "submitted_by": request["submitted_by"],
               "supporters": request.get("supporters", 1)}
    event = new_event(CATALOGUE, "proposal.submitted.v1", "petition", proposal_id, {
        "proposal_id": proposal_id, "community_id": request["community_id"],
        "state": "under_review", "title": request["title"],
    }, correlation_id)
    proposal = {
        "_id": proposal_id,
        **request,
        "state": "under_review",
        "submitted_at": at,
        "review": None,
        "motion": None,
        "votes": [],
        "notice": None,
        "objections": [],
        "outcome": None,
        "concluded_at": None,
        "history": [_entry(at, "submit", request["submitted_by"],
                           f"Submitted by {request['submitted_by']} with "
                           f"{request['supporters']} supporter(s); the party branch reviews it next")],
    }
    return proposal, [event]


# Commands: each takes its inputs, then the proposal, and returns a Change.

def review(request: dict, now: datetime, correlation_id: str, proposal: dict) -> Change:
    """The party branch endorses the proposal or, having consulted residents, proposes to reject it.

    ``request``: ``{"decision": "reject", "opinion": "...", "actor": "branch-hexi",
    "consultation": {"held_on": "2026-11-20", "residents_consulted": 35, "summary": "..."}}``
    """
    LIFECYCLE.target("review", proposal["state"])
    at = _iso(now)
    decision = request["decision"]
    if decision not in DECISIONS:
        raise InvalidFields(f"The branch's decision {decision!r} is not one it can make.",
                            fields={"decision": [f"Give one of: {', '.join(DECISIONS)}."]})
    consultation = request.get("consultation")
    if decision == "reject" and consultation is None:
        raise InvalidFields(
            "The branch may propose to reject a resident proposal only after consulting residents.",
            fields={"consultation": [
                "Record the consultation with residents first: the date it was held (held_on), "
                "how many residents took part (residents_consulted) and what they said (summary); "
                "then propose rejection again."]})
    if consultation is not None:
        consultation = {**consultation, "held_on": _date_iso(consultation["held_on"])}
    actor = request["actor"]
    motion = "adopt" if decision == "endorse" else "reject"
    event = _event("proposal.reviewed.v1", proposal, "awaiting_vote", correlation_id,
                   decision=decision, opinion=request["opinion"])
    if decision == "endorse":
        summary = f"Endorsed by {actor}: {request['opinion']}"
    else:
        summary = (f"{actor} proposes rejection, having consulted {consultation['residents_consulted']} "
                   f"resident(s) on {consultation['held_on']}: {request['opinion']}")
    summary += f"; the assembly votes next on a motion to {motion}"
    return Change(
        set={"state": "awaiting_vote", "motion": motion,
             "review": {"decision": decision, "opinion": request["opinion"], "actor": actor,
                        "consultation": consultation, "at": at}},
        push={"history": [_entry(at, "review", actor, summary)]},
        events=[event])


def vote(tally: dict, rules: AssemblyRules, now: datetime, correlation_id: str,
         proposal: dict) -> Change:
    """The assembly's vote on the branch's motion; the tally decides what happens next.

    ``tally``: ``{"members": 25, "present": 18, "in_favour": 12, "against": 4,
    "abstaining": 2, "actor": "assembly-hexi"}``
    """
    LIFECYCLE.target("vote", proposal["state"])
    at = _iso(now)
    _check_tally(tally)
    counts = {key: tally[key] for key in COUNTS}
    motion = proposal["motion"]
    quorate = rules.quorate(counts["members"], counts["present"])
    carried = quorate and rules.carried(counts["present"], counts["in_favour"])
    record = {**counts, "actor": tally["actor"], "motion": motion, "quorate": quorate,
              "carried": carried, "at": at}
    figures = (f"{counts['in_favour']} for, {counts['against']} against, "
               f"{counts['abstaining']} abstaining; {counts['present']} of {counts['members']} "
               "members present")
    fields = {}
    if not quorate:
        state = "awaiting_vote"
        summary = (f"The vote on the motion to {motion} was not quorate ({figures}; more than "
                   f"{rules.quorum:.0%} of members must be present): the assembly must meet again")
    elif motion == "reject" and not carried:
        state = "under_review"
        fields = {"review": None, "motion": None}
        summary = (f"The motion to reject failed ({figures}): the branch's rejection lacks the "
                   "residents' majority, so the branch must review the proposal again")
    else:
        state = "on_notice"
        outcome = "adopted" if (motion == "adopt") == carried else "rejected"
        until = (now + timedelta(days=rules.notice_days)).isoformat()
        fields = {"notice": {"outcome": outcome, "from": at, "until": until}}
        summary = (f"The motion to {motion} {'carried' if carried else 'failed'} ({figures}): "
                   f"the proposal is to be {outcome}; on public notice (公示) until {until}, "
                   "during which residents may object")
    event = _event("proposal.voted.v1", proposal, state, correlation_id, motion=motion,
                   **counts, quorate=quorate, carried=carried)
    return Change(set={"state": state, **fields},
                  push={"votes": [record], "history": [_entry(at, "vote", tally["actor"], summary)]},
                  events=[event])


def object_to(objection: dict, now: datetime, correlation_id: str, proposal: dict) -> Change:
    """A resident objects to the result while it is on public notice.

    ``objection``: ``{"grounds": "The lift blocks the fire escape.", "by": "Li Wei"}``
    (``by`` may be None: residents may object anonymously).
    """
    LIFECYCLE.target("object", proposal["state"])
    at = _iso(now)
    until = proposal["notice"]["until"]
    if now >= datetime.fromisoformat(until):
        raise Conflict(f"The public notice of proposal {proposal['_id']} closed at {until}, so it "
                       "takes no more objections; raise the matter as a new proposal instead.",
                       details={"until": until})
    objection_id = f"O{len(proposal['objections']) + 1}"
    by = objection.get("by")
    event = _event("proposal.objected.v1", proposal, "on_notice", correlation_id,
                   objection_id=objection_id)
    record = {"id": objection_id, "grounds": objection["grounds"], "by": by, "at": at,
              "answer": None}
    return Change(
        push={"objections": [record],
              "history": [_entry(at, "object", by or "a resident",
                                 f"Objection {objection_id} by {by or 'a resident'}: "
                                 f"{objection['grounds']}")]},
        events=[event])


def conclude(request: dict, now: datetime, correlation_id: str, proposal: dict) -> Change:
    """End the public notice once its window has closed, answering every objection.

    ``request``: ``{"actor": "branch-hexi", "answers": {"O1": "The lift is on the
    other side."}, "withdraw": false}``. ``withdraw`` upholds the objections: the
    result is withdrawn and the proposal goes back to the branch for review.
    """
    LIFECYCLE.target("conclude", proposal["state"])
    at = _iso(now)
    notice = proposal["notice"]
    if now < datetime.fromisoformat(notice["until"]):
        raise Conflict(f"The public notice of proposal {proposal['_id']} runs until "
                       f"{notice['until']}; conclude it after then, when residents have had "
                       "the whole window to object.", details={"until": notice["until"]})
    answers = request.get("answers") or {}
    _check_answers(answers, proposal["objections"])
    objections = [{**o, "answer": answers[o["id"]]} if o["answer"] is None else o
                  for o in proposal["objections"]]
    answered = len(answers)
    actor = request["actor"]
    if request.get("withdraw"):
        outcome = "returned_to_review"
        fields = {"state": "under_review", "review": None, "motion": None, "notice": None}
        summary = (f"Notice concluded by {actor}: the objections were upheld, so the result "
                   f"({notice['outcome']}) is withdrawn and the branch must review the proposal again")
    else:
        outcome = notice["outcome"]
        fields = {"state": outcome, "outcome": outcome, "concluded_at": at}
        summary = f"Notice concluded by {actor}: the proposal is {outcome}"
        if outcome == "adopted":
            summary += "; petitions may now carry it out"
    if answered:
        summary += f" ({answered} objection(s) answered)"
    event = _event("proposal.concluded.v1", proposal, fields["state"], correlation_id,
                   outcome=outcome)
    return Change(set={**fields, "objections": objections},
                  push={"history": [_entry(at, "conclude", actor, summary)]},
                  events=[event])


def _check_tally(tally):
    """Every member present is counted once: in favour, against or abstaining."""
    problems = {}
    if tally["members"] < 1:
        problems["members"] = ["Give the assembly's full membership: at least 1."]
    for key in COUNTS[1:]:
        if tally[key] < 0:
            problems[key] = ["Give a count of 0 or more."]
    if tally["present"] > tally["members"]:
        problems.setdefault("present", []).append(
            f"{tally['present']} present is more than the {tally['members']} members; "
            "check the attendance and the membership.")
    counted = tally["in_favour"] + tally["against"] + tally["abstaining"]
    if counted != tally["present"]:
        problems.setdefault("present", []).append(
            f"{tally['in_favour']} in favour + {tally['against']} against + "
            f"{tally['abstaining']} abstaining = {counted}, but {tally['present']} were present; "
            "count every member present once, as in favour, against or abstaining.")
    if problems:
        raise InvalidFields("The tally does not add up; correct it and record the vote again.",
                            fields=problems)


def _check_answers(answers, objections):
    """Objections answered when an earlier notice concluded keep their answers."""
    pending = [o["id"] for o in objections if o["answer"] is None]
    problems = []
    missing = [i for i in pending if not (answers.get(i) or "").strip()]
    if missing:
        problems.append(f"Answer objection(s) {', '.join(missing)}: each needs a non-empty "
                        "public answer before the notice concludes.")
    unknown = sorted(set(answers) - set(pending))
    if unknown:
        problems.append(f"No objection {', '.join(unknown)} awaits an answer on this proposal; "
                        f"answer only {', '.join(pending) or 'nothing (there are no objections)'}.")
    if problems:
        raise InvalidFields("Every objection needs a public answer before the notice concludes.",
                            fields={"answers": problems})


def _event(type, proposal, state, correlation_id, **data):
    return new_event(CATALOGUE, type, "petition", proposal["_id"], {
        "proposal_id": proposal["_id"], "community_id": proposal["community_id"],
        "state": state, **data}, correlation_id)


def _entry(at, step, actor, summary):
    """The history line for a step: when, which, who, and in words."""
    return {"at": at, "step": step, "actor": actor, "summary": summary}


def _iso(now):
    if now.tzinfo is None:
        raise ValueError("Pass an aware datetime (with a time zone) as now.")
    return now.isoformat()


def _date_iso(held_on):
    """Consultations are stored with their date as an ISO string, as they are shown."""
    return held_on.isoformat() if isinstance(held_on, date) else held_on
