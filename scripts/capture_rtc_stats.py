"""Record two real `Room.get_rtc_stats()` readings, 2 s apart, from a session against the
local stand-in (its character speaking tones, this client publishing a tone as its microphone),
as the JSON fixture the link-stats unit tests parse: tests/fixtures/rtc_stats_standin.json.

    .venv/bin/python scripts/capture_rtc_stats.py
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from google.protobuf.json_format import MessageToDict
from livekit import rtc

from convai_tui.core.api.events import BotReady, TranscriptReceived
from convai_tui.core.session import SessionCore, SessionSettings

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "rtc_stats_standin.json"


def _as_json(stats: rtc.RtcStats) -> dict[str, list[dict[str, object]]]:
    def one(reports: list[object]) -> list[dict[str, object]]:
        return [MessageToDict(r, preserving_proto_field_name=True) for r in reports]  # type: ignore[arg-type]

    return {"publisher_stats": one(stats.publisher_stats),
            "subscriber_stats": one(stats.subscriber_stats)}


async def _tone(source: rtc.AudioSource, stop: asyncio.Event) -> None:
    t = np.arange(480) / 48_000
    pcm = (0.2 * 32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16).tobytes()
    while not stop.is_set():
        await source.capture_frame(rtc.AudioFrame(pcm, 48_000, 1, 480))


async def capture(details: dict[str, str]) -> list[dict[str, list[dict[str, object]]]]:
    core = SessionCore(SessionSettings(connect_url=details["connect_url"],
                                       api_key=details["api_key"],
                                       character_id=details["character_id"]))
    sub = core.subscribe()
    await core.start()
    async for event in sub:
        if isinstance(event, BotReady):
            break
    transport = core._transport
    assert transport is not None
    source = rtc.AudioSource(48_000, 1)
    track = rtc.LocalAudioTrack.create_audio_track("mic", source)
    await transport.room.local_participant.publish_track(
        track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE))
    stop = asyncio.Event()
    tone = asyncio.create_task(_tone(source, stop))
    await core.send_text("Please say something long so that audio flows for a while.")
    async for event in sub:
        if isinstance(event, TranscriptReceived) and event.role == "character":
            break
    readings = []
    for _ in range(2):
        await asyncio.sleep(2.0)
        readings.append(_as_json(await transport.room.get_rtc_stats()))
    stop.set()
    await tone
    await core.close()
    return readings


def main() -> int:
    server = subprocess.Popen([sys.executable, "-m", "convai_tui", "local-server", "--port", "0",
                               "--tts", "tone"], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        details = json.loads(server.stdout.readline())
        readings = asyncio.run(capture(details))
    finally:
        server.terminate()
        server.wait(timeout=20)
    OUT.write_text(json.dumps(readings, indent=1) + "\n")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
