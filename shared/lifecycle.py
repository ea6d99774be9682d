"""State machines as tables: which command moves what from which states to which."""

from dataclasses import dataclass

from shared.errors import IllegalTransition


@dataclass(frozen=True)
class Transition:
    sources: frozenset
    target: str | None  # None: the command keeps the state (a note, an escalation)


class Lifecycle:
    def __init__(self, noun, transitions):
        self.noun = noun
        self.transitions = {command: Transition(frozenset(sources), target)
                            for command, (sources, target) in transitions.items()}

    def allowed(self, state):
        """The commands the state allows, in the table's order."""
        return [command for command, t in self.transitions.items() if state in t.sources]

    def target(self, command, state):
        """The state ``command`` leads to from ``state``; IllegalTransition if it may not."""
        transition = self.transitions[command]
        if state not in transition.sources:
            raise IllegalTransition(f"the {self.noun}", command, state, self.allowed(state))
        return transition.target or state
