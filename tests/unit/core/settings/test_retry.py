import random

import pytest

from convai_tui.core.errors.disconnect_reasons import DISCONNECT_RULES, rule_for
from convai_tui.core.errors.error import CATALOGUE
from convai_tui.core.settings.retry import RetryPolicy


def test_connect_schedule_is_0_1_2_4_then_stops() -> None:
    policy = RetryPolicy()
    assert [policy.connect_delay(n) for n in range(1, 6)] == [0.0, 1.0, 2.0, 4.0, None]
    assert policy.max_connect_attempts == 4


def test_reconnect_schedule_has_three_attempts_and_waits_5s_after_shutdown() -> None:
    policy = RetryPolicy()
    assert [policy.reconnect_delay(n) for n in range(1, 5)] == [0.5, 1.0, 2.0, None]
    assert policy.reconnect_delay(1, after_shutdown=True) == 5.0
    assert RetryPolicy(max_reconnect_attempts=5).reconnect_delay(5) == 2.0


def test_after_a_stalled_link_the_first_wait_is_the_stall_grace() -> None:
    policy = RetryPolicy()
    stalled = [policy.reconnect_delay(n, after_stall=True) for n in range(1, 5)]
    assert stalled == [12.0, 1.0, 2.0, None]
    assert RetryPolicy(max_reconnect_attempts=0).reconnect_delay(1, after_stall=True) is None


def test_only_a_reconnect_attempt_has_a_bound_of_its_own() -> None:
    policy = RetryPolicy()
    assert policy.attempt_bound("reconnect", 30.0) == 10.0
    assert policy.attempt_bound("reconnect", 4.0) == 4.0  # a shorter connection timeout wins
    assert policy.attempt_bound("connect", 30.0) is None
    assert policy.attempt_bound("waiting_room", 30.0) is None


def test_waiting_room_delays_are_jittered_and_capped() -> None:
    policy = RetryPolicy()
    delays = [
        policy.waiting_room_delay(n, random.Random(seed))
        for seed in range(50)
        for n in range(5, 15)
    ]
    assert max(delays) <= policy.waiting_room_cap_s
    assert min(delays) > 0
    # Jitter: two clients with different random streams do not poll in lock-step.
    a = [policy.waiting_room_delay(n, random.Random(1)) for n in range(2, 12)]
    b = [policy.waiting_room_delay(n, random.Random(2)) for n in range(2, 12)]
    assert a != b


def test_waiting_room_only_for_concurrency_and_only_when_on() -> None:
    code = "connection.connect_concurrency_limit_reached"
    assert RetryPolicy().uses_waiting_room(code)
    assert not RetryPolicy(waiting_room=False).uses_waiting_room(code)
    assert not RetryPolicy().uses_waiting_room("connection.timeout")


RETRY = {0, 3, 6, 8, 9, 14, 15}
NO_RETRY = {1, 2, 4, 5, 7, 10, 11, 12, 13, 16}


@pytest.mark.parametrize("reason", sorted(DISCONNECT_RULES))
def test_disconnect_reason_table(reason: int) -> None:
    rule = rule_for(reason)
    assert rule.retry is (reason in RETRY)
    assert rule.code in CATALOGUE
    if reason == 3:
        assert rule.first_delay_s == 5.0


def test_design_names_the_reasons_that_never_retry() -> None:
    for name in (
        "DUPLICATE_IDENTITY",
        "PARTICIPANT_REMOVED",
        "ROOM_DELETED",
        "JOIN_FAILURE",
        "CLIENT_INITIATED",
    ):
        rule = next(r for r in DISCONNECT_RULES.values() if r.name == name)
        assert not rule.retry


def test_unknown_reason_is_treated_as_a_drop() -> None:
    assert rule_for(99).retry
