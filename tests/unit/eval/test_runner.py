"""The eval runner on scripted sessions: turns classed, sessions bounded by the concurrency,
left cleanly, and partial results kept when stopped."""

from __future__ import annotations

import asyncio
import io
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from convai_tui.eval.command import EvalOutputs, run_eval_command
from convai_tui.eval.progress import Progress
from convai_tui.eval.runner import EvalOptions, run_eval
from convai_tui.eval.scenario import Scenario, load_scenario
from tests.unit.eval.scripted_session import ScriptedSession, abstains, silent, spoken


def _scenario(tmp_path: Path, text: str) -> Scenario:
    path = tmp_path / "s.toml"
    path.write_text(text)
    return load_scenario(path)


TWO_TURNS = """\
sla_text_ms = 500
[[turns]]
say = "hello"
expect = "respond_with_audio"
contains = ["HELLO"]
[[turns]]
trigger = "greet"
expect = "respond"
"""


async def test_every_turn_passes_and_sessions_never_exceed_the_concurrency(
    tmp_path: Path,
) -> None:
    scenario = _scenario(tmp_path, TWO_TURNS)
    made: list[ScriptedSession] = []
    running = [0]
    most = [0]

    def make(_mic: Any) -> ScriptedSession:
        session = ScriptedSession(spoken("Hello there"))
        original = session.start

        async def start() -> None:
            running[0] += 1
            most[0] = max(most[0], running[0])
            await original()

        async def close() -> None:
            running[0] -= 1

        session.start = start  # type: ignore[method-assign]
        session.close = close  # type: ignore[method-assign]
        made.append(session)
        return session

    run = await run_eval(scenario, EvalOptions(concurrency=2, repeat=3), make)
    assert len(run.sessions) == 6 and most[0] == 2
    assert [t.klass for t in run.turns] == ["pass"] * 12
    assert {t.bucket for t in run.turns} == {"text->voice", "trigger->voice"}
    assert run.sessions[0].session_id == "sid-1" and run.sessions[0].repeat == 1
    assert run.sessions[-1].repeat == 3
    assert all(s.disconnects == 1 for s in made)
    first = run.turns[0]
    assert first.total_ms == 300.0  # sent → the voice, from turn_timing
    assert first.figures["sent_to_first_text_ms"] == 100.0


@pytest.mark.parametrize(
    ("reply", "expect", "klass"),
    [
        (abstains, "respond", "behavior_mismatch"),
        (abstains, "abstain", "pass"),
        (spoken("hi"), "abstain", "behavior_mismatch"),
        (spoken("hi"), "no_response", "behavior_mismatch"),
        (silent, "no_response", "pass"),
        (spoken("hi", first_audio_ms=900.0), "respond", "sla_miss"),
        (spoken("goodbye"), "respond", "behavior_mismatch"),  # lacks "hi"
    ],
)
async def test_classes(tmp_path: Path, reply: Any, expect: str, klass: str) -> None:
    contains = '["hi"]' if reply is not silent else "[]"
    scenario = _scenario(
        tmp_path,
        f'sla_text_ms = 300\n[[turns]]\nsay = "x"\nexpect = "{expect}"\ncontains = {contains}\n',
    )
    run = await run_eval(scenario, EvalOptions(), lambda _m: ScriptedSession(reply))
    assert [t.klass for t in run.turns] == [klass]


async def test_no_end_of_turn_within_three_slas_is_a_timeout(tmp_path: Path) -> None:
    scenario = _scenario(tmp_path, 'sla_text_ms = 20\n[[turns]]\nsay = "x"\n')
    run = await run_eval(scenario, EvalOptions(), lambda _m: ScriptedSession(silent))
    assert [t.klass for t in run.turns] == ["timeout"]


async def test_a_session_that_cannot_connect_classes_every_turn_with_the_code(
    tmp_path: Path,
) -> None:
    scenario = _scenario(tmp_path, TWO_TURNS)
    code = "connection.connect_service_unavailable"
    run = await run_eval(
        scenario, EvalOptions(), lambda _m: ScriptedSession(silent, fail_connect=code)
    )
    assert [(t.klass, t.code) for t in run.turns] == [("connection_error", code)] * 2
    assert run.sessions[0].error_code == code


async def test_exit_status_and_reports(tmp_path: Path) -> None:
    scenario = _scenario(tmp_path, TWO_TURNS)
    out, err = io.StringIO(), io.StringIO()
    outputs = EvalOutputs(tmp_path / "r.json", tmp_path / "r.xml")
    code = await run_eval_command(
        scenario,
        EvalOptions(),
        outputs,
        lambda _m: ScriptedSession(spoken("hello")),
        out=out,
        err=err,
    )
    assert code == 0
    assert "classes: pass 2" in out.getvalue()
    assert (tmp_path / "r.json").exists() and (tmp_path / "r.xml").exists()
    failing = await run_eval_command(
        scenario,
        EvalOptions(),
        EvalOutputs(),
        lambda _m: ScriptedSession(abstains),
        out=out,
        err=err,
    )
    assert failing == 1


async def test_a_bad_baseline_is_status_2(tmp_path: Path) -> None:
    (tmp_path / "b.json").write_text("{}")
    scenario = _scenario(tmp_path, TWO_TURNS)
    err = io.StringIO()
    code = await run_eval_command(
        scenario,
        EvalOptions(),
        EvalOutputs(compare_path=tmp_path / "b.json"),
        lambda _m: ScriptedSession(silent),
        out=io.StringIO(),
        err=err,
    )
    assert code == 2 and "no summary" in err.getvalue()


async def test_sigint_ends_every_session_cleanly_and_keeps_what_ran(tmp_path: Path) -> None:
    scenario = _scenario(
        tmp_path, 'sla_text_ms = 2000\n[[turns]]\nsay = "x"\n[[turns]]\nsay = "y"\n'
    )
    made: list[ScriptedSession] = []

    def make(_mic: Any) -> ScriptedSession:
        # the first turn is answered, the second never is: Ctrl-C comes while it waits
        session = ScriptedSession(lambda heard: spoken("ok")(heard) if heard == "x" else [])
        made.append(session)
        return session

    async def interrupt_soon() -> None:
        await asyncio.sleep(0.5)
        os.kill(os.getpid(), signal.SIGINT)

    killer = asyncio.ensure_future(interrupt_soon())
    run = await run_eval(scenario, EvalOptions(concurrency=2, repeat=2), make)
    await killer
    assert run.interrupted
    assert len(made) == 2  # the second round never started
    assert all(s.disconnects == 1 for s in made)
    assert [t.klass for t in run.turns] == ["pass", "pass"]  # the unfinished turns left out


def test_progress_plain_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    progress = Progress(out, live=False)
    progress.begin(2, 1)
    progress.session_started()
    progress.session_done()
    assert out.getvalue() == (
        "eval: sessions 0 running, 1/2 done · turns 0 passed, 0 failed of 2 · p50 –\n"
    )


def test_turn_timing_breakdown_is_kept_when_the_event_carries_it(tmp_path: Path) -> None:
    """turn_timing's total, segments and server turn id (a richer event than today's) are
    taken as given: the total is what the SLA is held to, the server's id what support needs."""
    from types import SimpleNamespace
    from typing import cast

    from convai_tui.core.api.events import TurnTimed
    from convai_tui.eval.results import SessionResult, TurnOutcome, turn_result
    from convai_tui.eval.session_run import SessionDriver

    scenario = _scenario(tmp_path, '[[turns]]\nsay = "x"\n')
    driver = SessionDriver(
        ScriptedSession(silent), scenario, SessionResult(1, 1), stop=asyncio.Event()
    )
    richer = SimpleNamespace(
        sent_to_first_text_ms=100.0,
        sent_to_first_audio_ms=400.0,
        user_stop_to_speech_ms=None,
        total_ms=1500.0,
        segments=({"name": "llm", "ms": 900.0}, {"name": "tts", "ms": 600.0}),
        input="text",
        turn_id="srv-turn-7",
    )
    outcome = TurnOutcome(ended="completed", reply_text="hi")
    driver._take_timing(outcome, cast(TurnTimed, richer))
    result = turn_result(1, scenario.turns[0], outcome, 1200.0)
    assert result.total_ms == 1500.0 and result.klass == "sla_miss"
    assert result.turn_id == "srv-turn-7" and result.audio
    assert result.figures["segments"][0] == {"name": "llm", "ms": 900.0}
