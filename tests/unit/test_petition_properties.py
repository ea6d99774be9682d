"""Property-based (hypothesis): whatever sequence of staff commands, other services' events
and the passing of time a petition meets, it stays in a legal state, and its timeline
explains every state it has been in."""

from datetime import UTC, datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from services.petition import domain
from shared.catalogue import CATALOGUE
from shared.errors import DomainError
from shared.events import Event

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
GRID = {"_id": "g01", "name": "Hexi 1", "community_id": "c-hexi"}
REQUEST = {"category": "drains", "description": "The drain overflows.",
           "location": {"lat": 30.0, "lng": 120.0, "address": None}, "channel": "kiosk",
           "attributes": {}, "attachments": [], "grid_id": None, "proposal_id": None,
           "reporter": {"name": "Wang", "phone": None, "email": None, "anonymous": False},
           "token": "t"}
HANDLER = {"kind": "volunteer_team", "team_id": "t", "name": "Team"}
COMMANDS = {
    "accept": lambda: (domain.accept, ("staff", None)),
    "reject": lambda: (domain.reject, ("staff", "not ours")),
    "merge": lambda: (domain.merge, ({"_id": "P-0", "state": "accepted"}, "staff", "dup")),
    "acknowledge": lambda: (domain.acknowledge, ("staff",)),
    "report_progress": lambda: (domain.report_progress, ("v", "going")),
    "resolve": lambda: (domain.resolve, ("v", "done")),
    "return": lambda: (domain.return_to_dispatcher, ("v", "not ours", "wrong_area")),
    "escalate": lambda: (domain.escalate, ("staff", "slow")),
    "confirm_work": lambda: (domain.confirm_work, ("resident",)),
    "follow_up_good": lambda: (domain.follow_up, ({"rating": 5, "comment": None,
                                                   "cause": "handler", "by": "resident"},
                                                  "resident")),
    "follow_up_poor": lambda: (domain.follow_up, ({"rating": 1, "comment": "no",
                                                   "cause": "handler", "by": "resident"},
                                                  "resident")),
    "close": lambda: (domain.close, ("staff", None)),
}
FOREIGN = ("petition.dispatched.v1", "task.claimed.v1", "task.progressed.v1",
           "task.completed.v1", "dispatch.escalated.v1", "funds.settled.v1")


def apply(petition, change):
    updated = {**petition, **change.set}
    for name, items in change.push.items():
        updated[name] = list(petition.get(name, [])) + list(items)
    return updated


class PetitionLife(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.clock = T0
        self.petition, _ = domain.raise_petition("P-1", dict(REQUEST), GRID, [], domain.Policy(),
                                                 T0, "c")
        self.visited = [self.petition["state"]]
        self.events = 0

    def tick(self, minutes):
        self.clock += timedelta(minutes=minutes)

    def record(self, change):
        before = len(self.petition["timeline"])
        self.petition = apply(self.petition, change)
        assert len(self.petition["timeline"]) > before or not change.events
        self.visited.append(self.petition["state"])

    @rule(name=st.sampled_from(sorted(COMMANDS)), minutes=st.integers(1, 600))
    def command(self, name, minutes):
        self.tick(minutes)
        decide, arguments = COMMANDS[name]()
        try:
            change = decide(*arguments, self.clock, "c", self.petition)
        except DomainError:
            return  # refused: nothing may have changed, which the invariants check
        self.record(change)

    @rule(type=st.sampled_from(FOREIGN), stale=st.booleans(), minutes=st.integers(1, 600))
    def other_service(self, type, stale, minutes):
        self.tick(minutes)
        self.events += 1
        round = max(self.petition["round"] - 1, 0) if stale else self.petition["round"]
        data = {"petition_id": "P-1", "round": round, "task_id": "T", "team_id": "t",
                "volunteer_id": "v", "reason": "r", "hours": 1.0, "cost_fen": 0, "funding": None,
                "verified_by": "g", "handler": HANDLER, "final": False, "grid_id": "g01",
                "acknowledge_by": self.clock, "due_by": self.clock, "clock": "finish",
                "deadline": self.clock, "level": 1, "to_place": "ws-1", "settlement_id": "s",
                "department_id": "d", "budget_line": "b", "fiscal_year": 2026,
                "centre_id": "c", "amount_fen": 1, "currency": "CNY"}
        event = Event(id=f"e{self.events}", source=CATALOGUE.producer_of(type), type=type,
                      subject="P-1", time=self.clock, correlationid="c", causationid=None,
                      data=data)
        self.record(domain.follow(event, self.petition))

    @precondition(lambda self: self.petition["state"] in ("resolved", "verified"))
    @rule(hours=st.integers(1, 200))
    def time_passes(self, hours):
        self.tick(hours * 60)
        change = domain.sweep(self.clock, domain.Policy(), "c", self.petition)
        if change:
            self.record(change)

    @invariant()
    def the_state_is_legal(self):
        assert self.petition["state"] in domain.STATES
        assert self.petition["round"] >= 1

    @invariant()
    def a_final_petition_stays_final(self):
        finals = [i for i, s in enumerate(self.visited) if s in domain.FINAL]
        if finals:
            assert all(s in domain.FINAL for s in self.visited[finals[0]:])

    @invariant()
    def the_timeline_explains_every_step(self):
        timeline = self.petition["timeline"]
        assert all(e["summary"] and e["event_id"] and e["at"] for e in timeline)
        assert len({e["event_id"] for e in timeline}) == len(timeline)


PetitionLife.TestCase.settings = settings(max_examples=150, stateful_step_count=30,
                                          deadline=None)
test_any_sequence_leaves_a_petition_legal_and_explained = PetitionLife.TestCase
