"""event_ingest_per_s: RTVI packets pushed through SessionCore's inbound path into the TUI's
error log and transcript (Textual app in headless mode), at rising paced rates.

A rate passes when every event reached the model (none dropped), the slowest batch
(fold-in + refresh) and the worst event-loop stall both stayed under 50 ms, and the UI had
caught up within 0.5 s of the end. The figure is the highest passing rate."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from convai_tui.core.session import SessionCore, SessionSettings
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


async def _ingest(rates: list[int], seconds: float) -> dict[str, Any]:
    session = SessionCore(SessionSettings(connect_url="http://127.0.0.1:9",
                                          api_key="bench", character_id="bench"))
    app = ConvaiApp(session, read_only=True)
    steps = []
    best = 0
    async with app.run_test(headless=True, size=(160, 48)) as pilot:
        await pilot.pause(0.5)
        sent = 0
        for rate in rates:
            app.slowest_batch_ms = 0.0
            base_errors = app.model.counters.errors
            base_lines = len(app.model.transcript)
            worst_lag = 0.0
            tick = 0.01
            per_tick = max(1, round(rate * tick))
            total = int(rate * seconds)
            payloads = _payloads(sent, total)
            started = time.perf_counter()
            pushed = 0
            while pushed < total:
                target = started + (pushed / rate)
                now = time.perf_counter()
                if target > now:
                    await asyncio.sleep(target - now)
                lag = (time.perf_counter() - target) * 1000
                worst_lag = max(worst_lag, lag)
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
            await pilot.pause(0.05)
            errors = app.model.counters.errors - base_errors
            lines = len(app.model.transcript) - base_lines
            sent += total
            ok = (errors + lines == total and app.slowest_batch_ms < FRAME_LIMIT_MS
                  and worst_lag < FRAME_LIMIT_MS and caught_up_s < 0.5)
            steps.append({"rate": rate, "delivered": errors + lines, "sent": total,
                          "slowest_batch_ms": round(app.slowest_batch_ms, 1),
                          "worst_loop_lag_ms": round(worst_lag, 1),
                          "catch_up_s": round(caught_up_s, 3), "ok": ok})
            if (ok and best == rates[rates.index(rate) - 1 if rate != rates[0] else 0]) or (ok and not best):
                best = rate
            if not ok and len([x for x in steps if not x["ok"]]) >= 2:
                break
    return {"event_ingest_per_s": best, "steps": steps}


def run(quick: bool) -> dict[str, Any]:
    rates = [2500, 5000, 10000, 20000, 40000, 80000]
    return asyncio.run(_ingest(rates, 1.0 if quick else 3.0))
