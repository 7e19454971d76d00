"""event_ingest_per_s: RTVI packets pushed through SessionCore's inbound path into the TUI's
error log and transcript (Textual app in headless mode), at rising paced rates.

The traffic is turns of four messages, each of which becomes its own events, none merged
into another's: a non-fatal `error` (ErrorRaised: the error log), a `final-user-transcription`
of a distinct utterance (one final user line), one `bot-llm-text` (the reply streaming) and the
`bot-turn-completed` that closes the turn (the character's final line and TurnCompleted): five
events and three lines a turn. Interim `user-transcription`s are not used: the client rightly
merges them into the utterance's one live line. Rates are events per second (messages are paced
at 4/5 of it); each rate checks that the core published exactly five events a turn and fails if
the client ever folds the traffic differently.

A rate passes when every published event reached the model (none dropped), the traffic left
its lines (one error and two transcript lines a turn), the slowest batch (fold-in + refresh) and
the worst event-loop stall (a 2 ms heartbeat's longest overshoot, which covers screen updates
and garbage collections too) both stayed under 50 ms, and the UI had caught up within 0.5 s of
the end. The figure is the highest rate with every lower rate passing; rates run in sequence on
one app, so later rates also carry the earlier history.

`smoke` (bench/run --smoke): one rate for 0.3 s; its figure is that rate if every event arrived
and the traffic left its lines, whatever the timings (those are thresholds, and a smoke has none).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import time
from collections import Counter
from typing import Any

from convai_tui.core.api.events import Event, LinkStatsSampled
from convai_tui.core.session import SessionCore
from convai_tui.core.settings.session_settings import SessionSettings
from convai_tui.ui.app import ConvaiApp

FRAME_LIMIT_MS = 50.0


TURN = 4
"""Messages a turn of the traffic."""
EVENTS_PER_TURN = 5
"""What the core publishes for one turn (1 error, 2 transcript lines in the model)."""


def _payloads(first_turn: int, turns: int) -> list[bytes]:
    out = []
    for t in range(first_turn, first_turn + turns):
        for msg in (
            {"type": "error", "data": {"error": f"bench error {t}", "fatal": False}},
            {"type": "final-user-transcription", "data": {"text": f"bench utterance {t}"}},
            {"type": "bot-llm-text", "data": {"text": f"bench reply {t}"}},
            {"type": "bot-turn-completed", "data": {}},
        ):
            out.append(json.dumps(msg).encode())
    return out


class _Kinds:
    """Events the core publishes, by type (the step's record when the mapping breaks)."""

    def __init__(self, session: SessionCore) -> None:
        self.counts: Counter[str] = Counter()
        bus = session._bus
        publish = bus.publish

        def counted(event: Event) -> None:
            self.counts[type(event).__name__] += 1
            publish(event)

        bus.publish = counted  # type: ignore[method-assign]


class _Probe:
    """A heartbeat on the event loop: the longest gap beyond its 2 ms sleep is the worst stall
    (a screen update, a batch, a garbage collection: anything that held the loop)."""

    def __init__(self) -> None:
        self.worst_ms = 0.0
        self.started = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _beat(self) -> None:
        while True:
            t0 = time.perf_counter()
            await asyncio.sleep(0.002)
            self.worst_ms = max(self.worst_ms, (time.perf_counter() - t0 - 0.002) * 1000)

    def start(self) -> None:
        self.worst_ms = 0.0
        self.started = time.perf_counter()
        self._task = asyncio.get_running_loop().create_task(self._beat())

    async def stop(self) -> float:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        return self.worst_ms


class _GcClock:
    """The longest garbage collection while ingesting (a frequent cause of stalls)."""

    def __init__(self) -> None:
        self.worst_ms = 0.0
        self._t0 = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            self.worst_ms = max(self.worst_ms, (time.perf_counter() - self._t0) * 1000)


class _LinkSampler:
    """What the core's link sampler publishes while connected: one sample a second."""

    def __init__(self, session: SessionCore) -> None:
        self.session = session
        self.sent = 0

    async def run(self) -> None:
        while True:
            self.sent += 1
            self.session.emit(LinkStatsSampled(
                rtt_ms=40.0 + self.sent % 7, jitter_ms=3.0, loss_pct=0.0, bitrate_in_kbps=32.0,
                bitrate_out_kbps=30.0, audio_in_dbfs=-30.0, audio_out_dbfs=-25.0,
                candidate="host/udp"))
            await asyncio.sleep(1.0)


async def _push(session: SessionCore, payloads: list[bytes], rate: int) -> float:
    """Hand `payloads` to the core's inbound path at `rate` per second, a burst every 2 ms."""
    per_tick = max(1, round(rate * 0.002))
    started = time.perf_counter()
    pushed = 0
    while pushed < len(payloads):
        target = started + (pushed / rate)
        now = time.perf_counter()
        if target > now:
            await asyncio.sleep(target - now)
        for payload in payloads[pushed:pushed + per_tick]:
            session._on_data(payload, "demo-character")  # the core's inbound path
        pushed += per_tick
    return time.perf_counter() - started


async def _ingest(rates: list[int], seconds: float, tab: str | None = None,
                  smoke: bool = False) -> dict[str, Any]:
    session = SessionCore(SessionSettings(connect_url="http://127.0.0.1:9",
                                          api_key="bench", character_id="bench"))
    bus = session._bus
    kinds = _Kinds(session)
    app = ConvaiApp(session, read_only=True)
    steps = []
    best = 0
    probe = _Probe()
    gc_clock = _GcClock()
    gc.callbacks.append(gc_clock)
    try:
        async with app.run_test(headless=True, size=(160, 48)) as pilot:
            await pilot.pause(0.5)
            link = _LinkSampler(session)
            sampler = asyncio.get_running_loop().create_task(link.run())
            if tab is not None:
                app.action_show_tab(tab)  # e.g. the Link tab repainting on every sample
                await pilot.pause(0.2)
            # One turn first: the character's activity settles ("listening"), so every later
            # turn publishes exactly its five events.
            await _push(session, _payloads(0, 1), 1000)
            await pilot.pause(0.2)
            turn = 1
            for rate in rates:
                app.slowest_batch_ms = 0.0
                gc_clock.worst_ms = 0.0
                base_errors = app.model.counters.errors
                base_lines = len(app.model.transcript)
                base_published, base_links = bus.published, link.sent
                kinds.counts.clear()
                turns = max(1, int(rate * seconds) // EVENTS_PER_TURN)
                payloads = _payloads(turn, turns)
                turn += turns
                probe.start()
                push_s = await _push(session, payloads, rate * TURN // EVENTS_PER_TURN)
                deadline = time.perf_counter() + 5
                while time.perf_counter() < deadline:
                    if app.model.events_applied >= bus.published:
                        break
                    await asyncio.sleep(0.005)
                caught_up_s = time.perf_counter() - probe.started - push_s
                await pilot.pause(0.1)  # the last screen update lands inside the probe window
                worst_stall = await probe.stop()
                published = bus.published
                events = published - base_published - (link.sent - base_links)
                missing = max(0, published - app.model.events_applied)
                errors = app.model.counters.errors - base_errors
                lines = len(app.model.transcript) - base_lines
                delivered = (missing == 0 and events == EVENTS_PER_TURN * turns
                             and errors == turns and lines == 2 * turns)
                timely = (app.slowest_batch_ms < FRAME_LIMIT_MS
                          and worst_stall < FRAME_LIMIT_MS and caught_up_s < 0.5)
                ok = delivered and (timely or smoke)
                steps.append({"rate": rate, "messages": len(payloads), "events": events,
                              "events_expected": EVENTS_PER_TURN * turns,
                              "not_delivered": missing, "errors": errors,
                              "transcript_lines": lines, "push_s": round(push_s, 3),
                              "slowest_batch_ms": round(app.slowest_batch_ms, 1),
                              "worst_loop_stall_ms": round(worst_stall, 1),
                              "worst_gc_ms": round(gc_clock.worst_ms, 1),
                              "catch_up_s": round(caught_up_s, 3), "ok": ok})
                if events != EVENTS_PER_TURN * turns:
                    steps[-1]["events_by_type"] = dict(kinds.counts)
                if not ok:
                    break  # the figure is the highest rate with every lower rate passing
                best = rate
            sampler.cancel()
    finally:
        gc.callbacks.remove(gc_clock)
    return {"event_ingest_per_s": best, "event_ingest_steps": steps}


def run(quick: bool, tab: str | None = None, smoke: bool = False) -> dict[str, Any]:
    if smoke:
        return asyncio.run(_ingest([2000], 0.3, tab, smoke=True))
    rates = [2500, 5000, 10000, 20000, 40000, 80000]
    return asyncio.run(_ingest(rates, 1.0 if quick else 3.0, tab))


if __name__ == "__main__":  # python -m bench.ingest_bench [--quick] [--tab link]
    import argparse

    parser = argparse.ArgumentParser(prog="bench.ingest_bench")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--tab", help="show this monitor tab while ingesting (e.g. link)")
    args = parser.parse_args()
    print(json.dumps(run(args.quick, args.tab, args.smoke), indent=1))
