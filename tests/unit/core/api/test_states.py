"""The six-state machine and its helpers (seeds/001)."""

from hypothesis import given
from hypothesis import strategies as st

from convai_tui.core.api.states import LEGAL_TRANSITIONS, SessionState, is_legal

S = SessionState


def test_helpers_match_the_unity_extension_methods() -> None:
    assert {s for s in S if s.is_connected()} == {S.CONNECTED, S.RECONNECTING}
    assert {s for s in S if s.is_transitioning()} == {S.CONNECTING, S.RECONNECTING, S.DISCONNECTING}
    assert {s for s in S if s.is_stable()} == {S.DISCONNECTED, S.CONNECTED, S.ERROR}
    assert {s for s in S if s.can_accept_input()} == {S.CONNECTED}


def test_documented_transitions_are_legal() -> None:
    documented = [
        (S.DISCONNECTED, S.CONNECTING),
        (S.CONNECTING, S.CONNECTED),
        (S.CONNECTING, S.ERROR),
        (S.CONNECTED, S.DISCONNECTING),
        (S.DISCONNECTING, S.DISCONNECTED),
        (S.CONNECTED, S.RECONNECTING),
        (S.RECONNECTING, S.CONNECTED),
        (S.RECONNECTING, S.ERROR),
    ]
    for old, new in documented:
        assert is_legal(old, new)


def test_error_is_left_only_through_disconnected() -> None:
    assert LEGAL_TRANSITIONS[S.ERROR] == {S.DISCONNECTED}
    assert not is_legal(S.ERROR, S.CONNECTING)


def test_wire_values_are_lowercase_names() -> None:
    assert [s.value for s in S] == [
        "disconnected",
        "connecting",
        "connected",
        "reconnecting",
        "disconnecting",
        "error",
    ]


@given(st.lists(st.sampled_from(list(S)), max_size=40))
def test_any_walk_of_legal_steps_can_always_get_back_to_disconnected(steps: list[S]) -> None:
    state = S.DISCONNECTED
    for target in steps:
        if is_legal(state, target):
            state = target
    # From anywhere, at most two legal steps lead back to Disconnected.
    seen = {state}
    frontier = {state}
    for _ in range(2):
        frontier = {n for s in frontier for n in LEGAL_TRANSITIONS[s]}
        seen |= frontier
    assert S.DISCONNECTED in seen


@given(st.sampled_from(list(S)), st.sampled_from(list(S)))
def test_no_self_transitions_and_input_only_when_connected(a: S, b: S) -> None:
    assert not is_legal(a, a)
    if b.can_accept_input():
        assert b is S.CONNECTED
