"""link_view_paint_ms: the CPU one 1 Hz repaint of the Link view costs with its history full
(15 minutes of samples, 500 timed turns, 2,000 state changes): `LinkView.show()` plus the
screen update that draws it, in a headless app at 80×24 and 160×48. The p50/p95/max of 30
repaints, and the same pilot pause with nothing to draw (the harness's own cost, to subtract);
the frame budget is 50 ms (bench/ingest_bench.py's limit). CPU time of this process
(`time.process_time`), so other load on a shared machine does not count.

    .venv/bin/python -m bench.link_view_bench
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from convai_tui.core.api.events import ErrorRaised, LinkStatsSampled, SessionStateChanged, TurnTimed
from convai_tui.core.api.metrics import percentile
from convai_tui.core.api.states import SessionState as S
from convai_tui.core.errors.error import make_error
from convai_tui.ui.app import ConvaiApp
from convai_tui.ui.model.link import LinkModel
from convai_tui.ui.widgets.link import LinkView
from tests.ui.fake_core import T0, FakeClock, FakeSession


def full_model() -> LinkModel:
    model = LinkModel()
    for i in range(2_000):
        old, new = (S.CONNECTED, S.RECONNECTING) if i % 2 else (S.RECONNECTING, S.CONNECTED)
        model.apply(SessionStateChanged(old, new, at=T0 + i * 0.45))
    for i in range(200):
        model.apply(ErrorRaised(make_error("transport.link_degraded", at=T0 + i * 4.5),
                                at=T0 + i * 4.5))
    for i in range(500):
        model.apply(TurnTimed(i + 1, 300.0 + i % 90, 600.0 + i % 70, None, at=T0 + i * 1.8))
    for i in range(900):
        model.apply(LinkStatsSampled(
            rtt_ms=40.0 + i % 23, jitter_ms=3.0 + i % 5, loss_pct=float(i % 3),
            bitrate_in_kbps=30.0 + i % 17, bitrate_out_kbps=28.0 + i % 11,
            audio_in_dbfs=-40.0 + i % 30, audio_out_dbfs=-35.0 + i % 25,
            candidate="host/udp" if i < 600 else "relay/tls", at=T0 + i))
    return model


async def paint_ms(size: tuple[int, int], repaints: int = 30) -> dict[str, Any]:
    clock = FakeClock(T0 + 900)
    app = ConvaiApp(FakeSession(clock=clock), clock=clock)
    show_ms, frame_ms, idle_ms = [], [], []
    async with app.run_test(size=size) as pilot:
        app.model.link = full_model()
        app.action_show_tab("link")
        await pilot.pause()
        view = app.monitor.query_one(LinkView)
        for i in range(repaints):
            app.model.link.apply(LinkStatsSampled(rtt_ms=40.0 + i, candidate="relay/tls",
                                                  at=T0 + 900 + i))
            started = time.process_time()
            view.show(app.model.link, T0 + 900 + i)
            shown = time.process_time()
            await pilot.pause()  # the screen update that draws the changed widgets
            show_ms.append((shown - started) * 1000)
            frame_ms.append((time.process_time() - started) * 1000)
            started = time.process_time()
            await pilot.pause()  # the same wait with nothing to draw: the harness's own cost
            idle_ms.append((time.process_time() - started) * 1000)
    return {"size": f"{size[0]}x{size[1]}",
            **{f"show_{k}_ms": round(v or 0, 2) for k, v in
               (("p50", percentile(show_ms, 50)), ("p95", percentile(show_ms, 95)))},
            **{f"repaint_{k}_ms": round(v or 0, 2) for k, v in
               (("p50", percentile(frame_ms, 50)), ("p95", percentile(frame_ms, 95)),
                ("max", max(frame_ms)))},
            "idle_pause_p50_ms": round(percentile(idle_ms, 50) or 0, 2)}


def run(repaints: int = 30, sizes: tuple[tuple[int, int], ...] = ((80, 24), (160, 48))
        ) -> dict[str, Any]:
    return {"link_view_paint_ms": [asyncio.run(paint_ms(size, repaints)) for size in sizes]}


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
