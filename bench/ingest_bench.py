"""event_ingest_per_s: RTVI packets pushed through SessionCore's inbound path into the TUI's
error log and transcript (Textual app in headless mode), at rising paced rates.

A rate passes when every event reached the model (none dropped), the slowest batch
(fold-in + refresh) and the worst event-loop stall (a 2 ms heartbeat's longest overshoot, which
covers screen updates and garbage collections too) both stayed under 50 ms, and the UI had
caught up within 0.5 s of the end. The figure is the highest rate with every lower rate
passing; rates run in sequence on one app, so later rates also carry the earlier history."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import time
from typing import Any

from convai_tui.core.api.events import LinkStatsSampled
from convai_tui.core.session import SessionCore
from convai_tui.core.settings.session_settings import SessionSettings
from convai_tui.ui.app import ConvaiApp

FRAME_LIMIT_MS = 50.0


def _payloads(start: int, count: int) -> list[bytes]:
    out = []
    for i in range(start, start + count):
        if i % 2:
            msg = {"type": "error", "data": {"error": f"bench error {i}", "fatal": False}}
        else:
            msg = {"type": "user-transcription", "data": {"text": f"bench line {i}",
                                                          "final": True}}
        out.append(json.dumps(msg).encode())
    return out


class _Probe:
    """A heartbeat on the event loop: the longest gap beyond its 2 ms sleep is the worst stall
    (a screen update, a batch, a garbage collection: anything that held the loop)."""

    def __init__(self) -> None:
        self.worst_ms = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _beat(self) -> None:
        while True:
            t0 = time.perf_counter()
            await asyncio.sleep(0.002)
            self.worst_ms = max(self.worst_ms, (time.perf_counter() - t0 - 0.002) * 1000)

    def start(self) -> None:
        self.worst_ms = 0.0
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


async def _link_samples(session: SessionCore) -> None:
    """What the core's link sampler publishes while connected: one sample a second."""
    i = 0
    while True:
        i += 1
        session.emit(LinkStatsSampled(rtt_ms=40.0 + i % 7, jitter_ms=3.0, loss_pct=0.0,
                                      bitrate_in_kbps=32.0, bitrate_out_kbps=30.0,
                                      audio_in_dbfs=-30.0, audio_out_dbfs=-25.0,
                                      candidate="host/udp"))
        await asyncio.sleep(1.0)


async def _ingest(rates: list[int], seconds: float, tab: str | None = None) -> dict[str, Any]:
    session = SessionCore(SessionSettings(connect_url="http://127.0.0.1:9",
                                          api_key="bench", character_id="bench"))
    app = ConvaiApp(session, read_only=True)
    steps = []
    best = 0
    probe = _Probe()
    gc_clock = _GcClock()
    gc.callbacks.append(gc_clock)
    try:
        async with app.run_test(headless=True, size=(160, 48)) as pilot:
            await pilot.pause(0.5)
            sampler = asyncio.get_running_loop().create_task(_link_samples(session))
            if tab is not None:
                app.action_show_tab(tab)  # e.g. the Link tab repainting on every sample
                await pilot.pause(0.2)
            sent = 0
            for rate in rates:
                app.slowest_batch_ms = 0.0
                gc_clock.worst_ms = 0.0
                base_errors = app.model.counters.errors
                base_lines = len(app.model.transcript)
                tick = 0.002  # the pusher hands over a packet burst every 2 ms
                per_tick = max(1, round(rate * tick))
                total = int(rate * seconds)
                payloads = _payloads(sent, total)
                probe.start()
                started = time.perf_counter()
                pushed = 0
                while pushed < total:
                    target = started + (pushed / rate)
                    now = time.perf_counter()
                    if target > now:
                        await asyncio.sleep(target - now)
                    for payload in payloads[pushed:pushed + per_tick]:
                        session._on_data(payload, "demo-character")  # the core's inbound path
                    pushed += per_tick
                push_s = time.perf_counter() - started
                deadline = time.perf_counter() + 5
                while time.perf_counter() < deadline:
                    errors = app.model.counters.errors - base_errors
                    lines = len(app.model.transcript) - base_lines
                    if errors + lines >= total:
                        break
                    await asyncio.sleep(0.005)
                caught_up_s = time.perf_counter() - started - push_s
                await pilot.pause(0.1)  # the last screen update lands inside the probe window
                worst_stall = await probe.stop()
                errors = app.model.counters.errors - base_errors
                lines = len(app.model.transcript) - base_lines
                sent += min(total, pushed)
                ok = (errors + lines == total and app.slowest_batch_ms < FRAME_LIMIT_MS
                      and worst_stall < FRAME_LIMIT_MS and caught_up_s < 0.5)
                steps.append({"rate": rate, "delivered": errors + lines, "sent": total,
                              "push_s": round(push_s, 3),
                              "slowest_batch_ms": round(app.slowest_batch_ms, 1),
                              "worst_loop_stall_ms": round(worst_stall, 1),
                              "worst_gc_ms": round(gc_clock.worst_ms, 1),
                              "catch_up_s": round(caught_up_s, 3), "ok": ok})
                if not ok:
                    break  # the figure is the highest rate with every lower rate passing
                best = rate
            sampler.cancel()
    finally:
        gc.callbacks.remove(gc_clock)
    return {"event_ingest_per_s": best, "event_ingest_steps": steps}


def run(quick: bool, tab: str | None = None) -> dict[str, Any]:
    rates = [2500, 5000, 10000, 20000, 40000, 80000]
    return asyncio.run(_ingest(rates, 1.0 if quick else 3.0, tab))


if __name__ == "__main__":  # python -m bench.ingest_bench [--quick] [--tab link]
    import argparse

    parser = argparse.ArgumentParser(prog="bench.ingest_bench")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--tab", help="show this monitor tab while ingesting (e.g. link)")
    args = parser.parse_args()
    print(json.dumps(run(args.quick, args.tab), indent=1))
