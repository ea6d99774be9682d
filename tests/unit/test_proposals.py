"""Resident proposals (居民议案): branch review, the assembly's vote, public notice (公示),
objections and conclusion. Pure domain: no broker, no database; time is passed in."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from marshmallow import ValidationError

from services.petition import proposals, schemas
from shared.catalogue import CATALOGUE
from shared.errors import Conflict, IllegalTransition, InvalidFields
from shared.events import load_event

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
RULES = proposals.AssemblyRules()
REQUEST = {"community_id": "c-hexi", "title": "Install a lift in building 5",
           "text": "Many older residents of building 5 can no longer climb the stairs.",
           "submitted_by": "Residents of building 5", "supporters": 42}
CONSULTATION = {"held_on": date(2026, 11, 20), "residents_consulted": 35,
                "summary": "Ground-floor residents fear losing light."}


def apply(proposal, change):
    """What the store does with a Change, on a plain dict."""
    updated = {**proposal, **change.set}
    for name, items in change.push.items():
        updated[name] = list(proposal.get(name, [])) + list(items)
    return updated


def tally(members=20, present=15, in_favour=10, against=3, abstaining=2):
    return {"members": members, "present": present, "in_favour": in_favour,
            "against": against, "abstaining": abstaining, "actor": "assembly-hexi"}


def submitted():
    proposal, _ = proposals.submit("R-1", dict(REQUEST), T0, "corr")
    return proposal


def reviewed(decision="endorse", proposal=None):
    request = {"decision": decision, "opinion": "A real need.", "actor": "branch-hexi",
               "consultation": dict(CONSULTATION) if decision == "reject" else None}
    proposal = proposal or submitted()
    return apply(proposal, proposals.review(request, T0 + timedelta(days=1), "corr", proposal))


def voted(decision="endorse", rules=RULES, **counts):
    proposal = reviewed(decision)
    return apply(proposal, proposals.vote(tally(**counts), rules, T0 + timedelta(days=2), "corr",
                                          proposal))


def on_notice(**counts):
    """Endorsed, and the motion to adopt carried: on notice from day 2 until day 9."""
    return voted("endorse", **counts)


UNTIL = T0 + timedelta(days=2 + RULES.notice_days)


def objected(proposal, *grounds, at=T0 + timedelta(days=3)):
    for text in grounds:
        proposal = apply(proposal, proposals.object_to({"grounds": text, "by": "Li Wei"}, at, "corr",
                                                    proposal))
    return proposal


# Submission

def test_a_submitted_proposal_awaits_the_branchs_review():
    proposal, events = proposals.submit("R-1", dict(REQUEST), T0, "corr")
    assert proposal["_id"] == "R-1" and proposal["state"] == "under_review"
    assert proposal["submitted_by"] == "Residents of building 5" and proposal["supporters"] == 42
    assert proposal["submitted_at"] == T0.isoformat()
    assert (proposal["review"], proposal["votes"], proposal["notice"], proposal["objections"],
            proposal["outcome"]) == (None, [], None, [], None)
    assert [h["step"] for h in proposal["history"]] == ["submit"]
    assert proposal["history"][0]["actor"] == "Residents of building 5"
    assert [e["type"] for e in events] == ["proposal.submitted.v1"]
    assert events[0]["data"] == {"proposal_id": "R-1", "community_id": "c-hexi",
                                 "state": "under_review", "title": REQUEST["title"]}


def test_proposal_ids_are_r_and_twelve_hex_digits():
    proposal_id = proposals.new_proposal_id()
    assert proposal_id.startswith("R-") and len(proposal_id) == 14
    int(proposal_id[2:], 16)
    assert proposals.new_proposal_id() != proposal_id


def test_times_must_carry_a_time_zone():
    with pytest.raises(ValueError, match="aware"):
        proposals.submit("R-1", dict(REQUEST), datetime(2026, 11, 23, 9, 0), "corr")


# The party branch's review

def test_an_endorsement_puts_a_motion_to_adopt_before_the_assembly():
    proposal = submitted()
    change = proposals.review({"decision": "endorse", "opinion": "A real need.",
                               "actor": "branch-hexi", "consultation": None}, T0, "corr", proposal)
    assert change.set["state"] == "awaiting_vote" and change.set["motion"] == "adopt"
    assert change.set["review"] == {"decision": "endorse", "opinion": "A real need.",
                                    "actor": "branch-hexi", "consultation": None,
                                    "at": T0.isoformat()}
    assert change.events[0]["data"]["state"] == "awaiting_vote"
    assert change.events[0]["data"]["decision"] == "endorse"


def test_branch_cannot_propose_rejection_without_recording_a_consultation():
    proposal = submitted()
    with pytest.raises(InvalidFields) as refused:
        proposals.review({"decision": "reject", "opinion": "Too costly.", "actor": "branch-hexi",
                          "consultation": None}, T0, "corr", proposal)
    [advice] = refused.value.fields["consultation"]
    assert "Record the consultation" in advice
    assert all(word in advice for word in ("held_on", "residents_consulted", "summary"))


def test_a_rejection_after_consulting_residents_puts_a_motion_to_reject_to_the_vote():
    proposal = reviewed("reject")
    assert proposal["state"] == "awaiting_vote" and proposal["motion"] == "reject"
    # Stored as it is shown: the date as an ISO string.
    assert proposal["review"]["consultation"] == {**CONSULTATION, "held_on": "2026-11-20"}
    assert "consulted 35 resident(s) on 2026-11-20" in proposal["history"][-1]["summary"]


# The assembly's vote

def test_an_inquorate_vote_leaves_the_proposal_awaiting_a_vote():
    proposal = voted(members=20, present=8, in_favour=8, against=0, abstaining=0)
    assert proposal["state"] == "awaiting_vote" and proposal["notice"] is None
    assert proposal["motion"] == "adopt"  # the same motion goes to the next meeting
    [record] = proposal["votes"]
    assert record["quorate"] is False and record["carried"] is False
    assert "must meet again" in proposal["history"][-1]["summary"]


def test_the_assembly_votes_again_after_an_inquorate_meeting():
    proposal = voted(members=20, present=8, in_favour=8, against=0, abstaining=0)
    proposal = apply(proposal, proposals.vote(tally(), RULES, T0 + timedelta(days=5), "corr",
                                              proposal))
    assert proposal["state"] == "on_notice"
    assert [v["quorate"] for v in proposal["votes"]] == [False, True]


def test_exactly_half_the_members_present_is_not_a_quorum():
    assert voted(members=10, present=5, in_favour=5, against=0, abstaining=0)["state"] == \
        "awaiting_vote"
    assert voted(members=10, present=6, in_favour=6, against=0, abstaining=0)["state"] == \
        "on_notice"


def test_exactly_half_of_those_present_in_favour_does_not_carry_a_motion():
    proposal = voted(members=10, present=8, in_favour=4, against=4, abstaining=0)
    assert proposal["votes"][-1]["carried"] is False
    assert proposal["notice"]["outcome"] == "rejected"
    proposal = voted(members=10, present=8, in_favour=5, against=3, abstaining=0)
    assert proposal["votes"][-1]["carried"] is True


def test_abstentions_count_towards_those_present_but_not_in_favour():
    proposal = voted(members=10, present=8, in_favour=4, against=0, abstaining=4)
    assert proposal["votes"][-1]["carried"] is False


@pytest.mark.parametrize("present, in_favour, quorate, carried", [
    (6, 6, False, False),   # 6 of 9 is exactly two thirds: not a quorum
    (7, 4, True, False),    # 4 of 7 is short of two thirds
    (7, 5, True, True),     # 5 of 7 is more than two thirds
    (9, 6, True, False),    # exactly two thirds in favour does not carry
    (9, 7, True, True),
])
def test_a_two_thirds_assembly_needs_more_than_two_thirds(present, in_favour, quorate, carried):
    rules = proposals.AssemblyRules(quorum=2 / 3, majority=2 / 3)
    proposal = voted(rules=rules, members=9, present=present, in_favour=in_favour,
                     against=present - in_favour, abstaining=0)
    record = proposal["votes"][-1]
    assert (record["quorate"], record["carried"]) == (quorate, carried)


def test_a_carried_motion_to_adopt_puts_the_proposal_on_public_notice():
    proposal = on_notice()
    assert proposal["state"] == "on_notice" and proposal["outcome"] is None
    voted_at = T0 + timedelta(days=2)
    assert proposal["notice"] == {"outcome": "adopted", "from": voted_at.isoformat(),
                                  "until": (voted_at + timedelta(days=7)).isoformat()}
    assert proposal["votes"][-1] == {**tally(), "motion": "adopt", "quorate": True,
                                     "carried": True, "at": voted_at.isoformat()}


def test_a_failed_motion_to_adopt_puts_a_rejection_on_public_notice():
    proposal = voted("endorse", present=15, in_favour=5, against=8, abstaining=2)
    assert proposal["state"] == "on_notice" and proposal["notice"]["outcome"] == "rejected"


def test_a_carried_rejection_motion_puts_a_rejection_on_public_notice():
    proposal = voted("reject", present=15, in_favour=10, against=3, abstaining=2)
    assert proposal["state"] == "on_notice" and proposal["notice"]["outcome"] == "rejected"
    assert proposal["review"]["decision"] == "reject"


def test_a_failed_rejection_motion_sends_the_proposal_back_to_the_branch():
    proposal = voted("reject", present=15, in_favour=5, against=8, abstaining=2)
    assert proposal["state"] == "under_review"
    assert proposal["review"] is None and proposal["motion"] is None and proposal["notice"] is None
    assert proposal["votes"][-1]["motion"] == "reject" and not proposal["votes"][-1]["carried"]
    assert "review the proposal again" in proposal["history"][-1]["summary"]
    # The branch reviews again; this time it may endorse.
    assert reviewed("endorse", proposal)["motion"] == "adopt"


def test_an_inquorate_vote_on_a_rejection_does_not_send_it_back():
    proposal = voted("reject", members=20, present=10, in_favour=0, against=10, abstaining=0)
    assert proposal["state"] == "awaiting_vote" and proposal["motion"] == "reject"


def test_the_notice_lasts_the_configured_number_of_days():
    proposal = voted(rules=proposals.AssemblyRules(notice_days=14))
    assert proposal["notice"]["until"] == (T0 + timedelta(days=16)).isoformat()


@pytest.mark.parametrize("counts, field", [
    ({"members": 0, "present": 0, "in_favour": 0, "against": 0, "abstaining": 0}, "members"),
    ({"members": 10, "present": 12, "in_favour": 12, "against": 0, "abstaining": 0}, "present"),
    ({"members": 10, "present": 8, "in_favour": 5, "against": 2, "abstaining": 0}, "present"),
    ({"members": 10, "present": 8, "in_favour": 9, "against": -1, "abstaining": 0}, "against"),
    ({"members": 10, "present": 8, "in_favour": 8, "against": 0, "abstaining": -1},
     "abstaining"),
])
def test_a_tally_that_does_not_add_up_is_refused_field_by_field(counts, field):
    proposal = reviewed()
    with pytest.raises(InvalidFields, match="correct it") as refused:
        proposals.vote(tally(**counts), RULES, T0, "corr", proposal)
    assert field in refused.value.fields


def test_a_tally_error_says_how_the_count_falls_short():
    proposal = reviewed()
    with pytest.raises(InvalidFields) as refused:
        proposals.vote(tally(present=8, in_favour=5, against=2, abstaining=0), RULES, T0, "corr",
                       proposal)
    [advice] = refused.value.fields["present"]
    assert "= 7, but 8 were present" in advice


# Public notice and objections

def test_residents_may_object_while_the_proposal_is_on_notice():
    proposal = on_notice()
    change = proposals.object_to({"grounds": "The lift blocks the fire escape.", "by": None},
                              T0 + timedelta(days=3), "corr", proposal)
    assert "state" not in change.set
    assert change.push["objections"] == [{"id": "O1", "grounds": "The lift blocks the fire escape.",
                                          "by": None, "at": (T0 + timedelta(days=3)).isoformat(),
                                          "answer": None}]
    assert change.push["history"][0]["actor"] == "a resident"
    assert change.events[0]["data"]["objection_id"] == "O1"
    proposal = objected(apply(proposal, change), "The shaft takes the bicycle shed.")
    assert [o["id"] for o in proposal["objections"]] == ["O1", "O2"]


@pytest.mark.parametrize("late", [timedelta(0), timedelta(seconds=1), timedelta(days=30)])
def test_objections_are_refused_once_the_notice_window_has_closed(late):
    proposal = on_notice()
    with pytest.raises(Conflict, match=re.escape(f"closed at {UNTIL.isoformat()}")):
        proposals.object_to({"grounds": "Too late, but still.", "by": None}, UNTIL + late, "corr",
                         proposal)


def test_objections_are_only_taken_while_on_notice():
    proposal = reviewed()
    with pytest.raises(IllegalTransition) as refused:
        proposals.object_to({"grounds": "Not yet decided.", "by": None}, T0, "corr", proposal)
    assert refused.value.details["allowed"] == ["vote"]


def test_notice_cannot_conclude_before_its_window_ends():
    proposal = on_notice()
    with pytest.raises(Conflict, match=re.escape(f"runs until {UNTIL.isoformat()}")):
        proposals.conclude({"actor": "branch-hexi", "answers": {}, "withdraw": False},
                           UNTIL - timedelta(seconds=1), "corr", proposal)


def test_every_objection_needs_an_answer_before_the_notice_concludes():
    proposal = objected(on_notice(), "The lift blocks the fire escape.", "It will be noisy.")
    for answers in ({"O1": "It does not: see the plan."}, {"O1": "See the plan.", "O2": "  "}):
        with pytest.raises(InvalidFields) as refused:
            proposals.conclude({"actor": "branch-hexi", "answers": answers, "withdraw": False},
                               UNTIL, "corr", proposal)
        [advice] = refused.value.fields["answers"]
        assert "Answer objection(s) O2" in advice and "O1" not in advice


def test_answers_to_objections_nobody_raised_are_refused():
    proposal = objected(on_notice(), "The lift blocks the fire escape.")
    with pytest.raises(InvalidFields) as refused:
        proposals.conclude({"actor": "branch-hexi", "answers": {"O1": "No.", "O7": "Eh?"},
                            "withdraw": False}, UNTIL, "corr", proposal)
    [advice] = refused.value.fields["answers"]
    assert "No objection O7" in advice and "answer only O1" in advice


def test_a_concluded_notice_makes_its_result_final():
    proposal = objected(on_notice(), "The lift blocks the fire escape.")
    change = proposals.conclude({"actor": "branch-hexi",
                                 "answers": {"O1": "It does not: see the plan."}}, UNTIL, "corr",
                                proposal)
    proposal = apply(proposal, change)
    assert proposal["state"] == "adopted" and proposal["outcome"] == "adopted"
    assert proposal["concluded_at"] == UNTIL.isoformat()
    assert proposal["objections"][0]["answer"] == "It does not: see the plan."
    assert change.events[0]["data"]["outcome"] == "adopted"
    assert proposals.is_final(proposal)


def test_a_rejection_on_notice_concludes_as_rejected():
    proposal = voted("reject", present=15, in_favour=10, against=3, abstaining=2)
    proposal = apply(proposal, proposals.conclude({"actor": "branch-hexi"}, UNTIL, "corr",
                                                  proposal))
    assert proposal["state"] == "rejected" and proposal["outcome"] == "rejected"
    assert proposals.is_final(proposal)


def test_upheld_objections_withdraw_the_result_and_return_the_proposal_to_review():
    proposal = objected(on_notice(), "The lift blocks the fire escape.")
    change = proposals.conclude({"actor": "branch-hexi", "withdraw": True,
                                 "answers": {"O1": "Upheld: the plan moves the shaft."}},
                                UNTIL, "corr", proposal)
    proposal = apply(proposal, change)
    assert proposal["state"] == "under_review" and proposal["outcome"] is None
    assert proposal["review"] is None and proposal["notice"] is None and proposal["motion"] is None
    assert change.events[0]["data"] == {"proposal_id": "R-1", "community_id": "c-hexi",
                                        "state": "under_review", "outcome": "returned_to_review"}
    assert not proposals.is_final(proposal)


def test_objections_answered_in_an_earlier_notice_keep_their_answers():
    proposal = objected(on_notice(), "The lift blocks the fire escape.")
    proposal = apply(proposal, proposals.conclude(
        {"actor": "branch-hexi", "withdraw": True, "answers": {"O1": "Upheld."}}, UNTIL, "corr",
        proposal))
    proposal = reviewed("endorse", proposal)
    proposal = apply(proposal, proposals.vote(tally(), RULES, UNTIL, "corr", proposal))
    second_until = UNTIL + timedelta(days=7)
    proposal = objected(proposal, "Still noisy.", at=UNTIL + timedelta(days=1))
    assert [o["id"] for o in proposal["objections"]] == ["O1", "O2"]
    proposal = apply(proposal, proposals.conclude(
        {"actor": "branch-hexi", "answers": {"O2": "Works stop at 18:00."}}, second_until, "corr",
        proposal))
    assert [o["answer"] for o in proposal["objections"]] == ["Upheld.", "Works stop at 18:00."]
    assert proposal["state"] == "adopted"


# The lifecycle

def test_a_final_proposal_allows_no_more_commands():
    proposal = apply(on_notice(), proposals.conclude({"actor": "branch-hexi"}, UNTIL, "corr",
                                                     on_notice()))
    with pytest.raises(IllegalTransition, match="nothing more") as refused:
        proposals.vote(tally(), RULES, UNTIL, "corr", proposal)
    assert refused.value.details == {"state": "adopted", "allowed": []}
    for command, args in ((proposals.review, ({"decision": "endorse"},)),
                          (proposals.object_to, ({"grounds": "Late."},)),
                          (proposals.conclude, ({"actor": "x"},))):
        with pytest.raises(IllegalTransition):
            command(*args, UNTIL, "corr", proposal)


def test_a_command_out_of_turn_says_which_commands_are_allowed():
    with pytest.raises(IllegalTransition, match="From under_review you may: review") as refused:
        proposals.vote(tally(), RULES, T0, "corr", submitted())
    assert refused.value.details["allowed"] == ["review"]
    with pytest.raises(IllegalTransition, match="you may: object, conclude"):
        proposals.review({"decision": "endorse", "opinion": "Again.", "actor": "b"}, T0, "corr",
                         on_notice())


def test_the_whole_path_from_submission_to_adoption_is_told_in_its_history_and_events():
    proposal, events = proposals.submit("R-1", dict(REQUEST), T0, "corr")
    steps = [
        (proposals.review, ({"decision": "endorse", "opinion": "A real need.",
                             "actor": "branch-hexi", "consultation": None},), T0),
        (proposals.vote, (tally(present=8, in_favour=8, against=0, abstaining=0), RULES), T0),
        (proposals.vote, (tally(), RULES), T0 + timedelta(days=2)),
        (proposals.object_to, ({"grounds": "The lift blocks the fire escape.", "by": "Li Wei"},),
         T0 + timedelta(days=3)),
        (proposals.conclude, ({"actor": "branch-hexi", "answers": {"O1": "See the plan."}},),
         UNTIL),
    ]
    states = []
    for command, args, at in steps:
        change = command(*args, at, "corr", proposal)
        proposal = apply(proposal, change)
        events += change.events
        states.append(proposal["state"])
    assert states == ["awaiting_vote", "awaiting_vote", "on_notice", "on_notice", "adopted"]
    assert [h["step"] for h in proposal["history"]] == [
        "submit", "review", "vote", "vote", "object", "conclude"]
    assert [h["actor"] for h in proposal["history"]] == [
        "Residents of building 5", "branch-hexi", "assembly-hexi", "assembly-hexi", "Li Wei",
        "branch-hexi"]
    assert [e["type"] for e in events] == [
        "proposal.submitted.v1", "proposal.reviewed.v1", "proposal.voted.v1", "proposal.voted.v1",
        "proposal.objected.v1", "proposal.concluded.v1"]
    assert [e["data"]["state"] for e in events] == [
        "under_review", "awaiting_vote", "awaiting_vote", "on_notice", "on_notice", "adopted"]
    # Each event is one a consumer can read: it passes the catalogue's schema both ways.
    for e in events:
        assert e["subject"] == "R-1" and e["source"] == "petition" and e["correlationid"] == "corr"
        assert load_event(CATALOGUE, e, e["type"]).data["proposal_id"] == "R-1"
    # The public view shows the same story.
    public = schemas.PublicProposal().dump(proposal)
    assert public["id"] == "R-1" and public["outcome"] == "adopted"
    assert public["notice"]["from"] == (T0 + timedelta(days=2)).isoformat()
    assert len(public["votes"]) == 2 and public["objections"][0]["answer"] == "See the plan."


# Configuration

def test_assembly_rules_come_from_configuration_as_strings_or_numbers():
    rules = proposals.AssemblyRules.from_config(
        {"PROPOSAL_QUORUM": "0.6", "PROPOSAL_MAJORITY": 0.66, "PROPOSAL_NOTICE_DAYS": "10"})
    assert rules == proposals.AssemblyRules(quorum=0.6, majority=0.66, notice_days=10)
    assert proposals.AssemblyRules.from_config({}) == proposals.AssemblyRules(0.5, 0.5, 7)


@pytest.mark.parametrize("config", [{"PROPOSAL_QUORUM": "1.5"}, {"PROPOSAL_MAJORITY": "1"},
                                    {"PROPOSAL_NOTICE_DAYS": "0"}, {"PROPOSAL_QUORUM": "-0.1"}])
def test_assembly_rules_that_could_never_decide_are_refused_at_start_up(config):
    with pytest.raises(ValueError, match="give"):
        proposals.AssemblyRules.from_config(config)


# Request and public schemas

def test_requests_refuse_unknown_fields():
    with pytest.raises(ValidationError) as refused:
        schemas.SubmitProposal().load({**REQUEST, "supporter": 3})
    assert "supporter" in refused.value.messages


def test_a_submission_has_one_supporter_unless_told_otherwise():
    loaded = schemas.SubmitProposal().load({k: v for k, v in REQUEST.items() if k != "supporters"})
    assert loaded["supporters"] == 1


def test_a_consultation_refuses_unknown_fields_too():
    with pytest.raises(ValidationError) as refused:
        schemas.ReviewProposal().load({"decision": "reject", "opinion": "No.", "actor": "b",
                                       "consultation": {"held_on": "2026-11-20",
                                                        "residents_consulted": 3,
                                                        "summary": "They agreed.", "mood": "ok"}})
    assert "mood" in refused.value.messages["consultation"]


def test_a_loaded_review_is_shown_publicly_with_its_consultation_date():
    request = schemas.ReviewProposal().load({
        "decision": "reject", "opinion": "Too costly.", "actor": "branch-hexi",
        "consultation": {"held_on": "2026-11-20", "residents_consulted": 35,
                         "summary": "Ground-floor residents fear losing light."}})
    assert request["consultation"]["held_on"] == date(2026, 11, 20)
    proposal = submitted()
    proposal = apply(proposal, proposals.review(request, T0, "corr", proposal))
    public = schemas.PublicProposal().dump(proposal)
    assert public["review"]["consultation"] == {"held_on": "2026-11-20", "residents_consulted": 35,
                                                "summary": "Ground-floor residents fear losing light."}
    assert public["motion"] == "reject" and public["state"] == "awaiting_vote"


def test_the_other_requests_load_with_their_defaults():
    assert schemas.Objection().load({"grounds": "It blocks the light."}) == {
        "grounds": "It blocks the light.", "by": None}
    assert schemas.ConcludeNotice().load({"actor": "branch-hexi"}) == {
        "actor": "branch-hexi", "answers": {}, "withdraw": False}
    with pytest.raises(ValidationError) as refused:
        schemas.AssemblyVote().load({**tally(), "members": 0, "against": -1})
    assert set(refused.value.messages) == {"members", "against"}
