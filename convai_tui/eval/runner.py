"""K × N sessions of one scenario, N at a time, their starts spread by the stagger; Ctrl-C (or
SIGTERM) stops starting sessions and ends the running ones cleanly, keeping what they did."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from convai_tui.core.api.port import SessionPort
from convai_tui.eval.progress import Progress
from convai_tui.eval.results import SessionResult, TurnResult
from convai_tui.eval.scenario import Scenario
from convai_tui.eval.session_run import Microphone, SessionDriver

SessionFactory = Callable[[Any], SessionPort]
"""Builds one session; given a media hook (the file microphone) for voice scenarios, else None."""
MicFactory = Callable[[], Any]


@dataclass(frozen=True)
class EvalOptions:
    concurrency: int = 1
    stagger_ms: float = 0.0
    repeat: int = 1


@dataclass
class EvalRun:
    scenario: Scenario
    options: EvalOptions
    sessions: list[SessionResult] = field(default_factory=list)
    interrupted: bool = False
    started_at: float = field(default_factory=time.time)
    duration_s: float = 0.0

    @property
    def turns(self) -> list[TurnResult]:
        return [turn for session in self.sessions for turn in session.turns]


async def run_eval(
    scenario: Scenario,
    options: EvalOptions,
    make_session: SessionFactory,
    *,
    make_mic: MicFactory | None = None,
    progress: Progress | None = None,
) -> EvalRun:
    run = EvalRun(scenario, options)
    stop = asyncio.Event()
    slots = asyncio.Semaphore(options.concurrency)
    pacing = asyncio.Lock()
    last_start = [-1e9]
    began = time.monotonic()
    total = options.concurrency * options.repeat
    if progress is not None:
        progress.begin(total, len(scenario.turns))

    async def one(index: int) -> None:
        async with slots:
            async with pacing:  # starts at least the stagger apart, in order
                wait = last_start[0] + options.stagger_ms / 1000 - time.monotonic()
                if wait > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), wait)
                last_start[0] = time.monotonic()
            if stop.is_set():
                return
            result = SessionResult(index=index + 1, repeat=index // options.concurrency + 1)
            run.sessions.append(result)
            mic = make_mic() if make_mic is not None and scenario.has_voice else None
            session = make_session(mic)
            if progress is not None:
                progress.session_started()
            driver = SessionDriver(
                session,
                scenario,
                result,
                stop=stop,
                mic=_as_mic(mic),
                on_turn=progress.turn_done if progress is not None else lambda _t: None,
            )
            try:
                await driver.run()
            finally:
                with contextlib.suppress(Exception):
                    await session.close()
                if progress is not None:
                    progress.session_done()

    def interrupt() -> None:
        run.interrupted = True
        stop.set()

    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, interrupt)
            installed.append(sig)
    try:
        await asyncio.gather(*(one(i) for i in range(total)))
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        run.sessions.sort(key=lambda s: s.index)
        run.duration_s = time.monotonic() - began
        if progress is not None:
            progress.end()
    return run


def _as_mic(hook: Any) -> Microphone | None:
    return hook if hook is not None and hasattr(hook, "play") else None
