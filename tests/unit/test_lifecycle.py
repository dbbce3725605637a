"""The transition table: the same in code and in docs/ARCHITECTURE.md, and consistent with the states' meaning."""

import re
from pathlib import Path

from bot.models import CHARGED, HOLDING, IN_FLIGHT, TRANSITIONS, JobState, Money, Transition

DOC = Path(__file__).resolve().parents[2] / "docs" / "ARCHITECTURE.md"
ROW = re.compile(r"^\| `(\w+)` \| ([\w, ]+) \| (\w+) \| (\w*) ?\|$")


def documented() -> dict[str, tuple[frozenset[str], str, str]]:
    text = DOC.read_text()
    section = text[text.index("### Transitions") : text.index("## Where money moves")]
    rows = {}
    for line in section.splitlines():
        if match := ROW.match(line.strip()):
            name, sources, target, money = match.groups()
            rows[name] = (frozenset(s.strip() for s in sources.split(",")), target, money)
    return rows


def test_the_documented_table_is_the_code_table():
    in_code = {
        t.value: (frozenset(s.value for s in step.sources), step.target.value, step.money.value if step.money else "")
        for t, step in TRANSITIONS.items()
    }
    assert documented() == in_code


def test_every_transition_has_a_row_and_no_step_leaves_a_terminal_state():
    assert set(TRANSITIONS) == set(Transition)
    for transition, step in TRANSITIONS.items():
        finished = {s for s in step.sources if s.terminal}
        assert finished <= {JobState.SUBMIT_UNKNOWN}, transition  # only a moderator's settling reopens nothing else


def test_money_moves_exactly_where_a_reservation_ends():
    holds = HOLDING | {JobState.SUBMIT_UNKNOWN}  # an unknown submit keeps its hold until a moderator settles it
    for transition, step in TRANSITIONS.items():
        if not (step.sources & holds) or step.target in holds:
            assert step.money is None, transition
        elif step.target in CHARGED:
            assert step.money is Money.CHARGE, transition
        else:
            assert step.money is Money.REFUND, transition


def test_every_state_but_the_first_is_reachable():
    reached = {step.target for step in TRANSITIONS.values()}
    assert set(JobState) - reached == {JobState.RESERVED}  # written by Lifecycle.open
    assert reached >= IN_FLIGHT
