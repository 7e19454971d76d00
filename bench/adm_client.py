"""The native-ADM reference client: LiveKit's own audio device module (`rtc.PlatformAudio`,
WebRTC's capture, playout and APM in native code), in the same kind of session as ours.

`python -m bench.adm_client '<stand-in details JSON>'` asks the stand-in's /connect for a room
(as our client does), joins it, publishes the default microphone through `PlatformAudio` with
echo cancellation, noise suppression and AGC on, and lets the ADM play the character's track.
It prints one JSON line `{"ready": true}` once published and runs until SIGTERM/SIGINT. The SDK
is used as shipped (its native log forwarding on), as any LiveKit Python client would.

`--say-every S` makes it talk as tui_bench's talking phase does: it says `client-ready`, prints
`{"bot_ready": true}` when the character answers, then sends a text turn every S seconds
(`user_text_message` "hello number N"), whose spoken replies the ADM plays (a
`{"bot_started_speaking": true}` line as each starts).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys

from livekit import rtc

from convai_tui.core.connect.connect_api import ConnectApiClient, ConnectRequest
from convai_tui.core.rtvi import protocol
from convai_tui.core.rtvi.handshake import client_ready_data


async def talk(room: rtc.Room, every_s: float) -> None:
    """client-ready, then a text turn every ``every_s`` once the character is ready."""
    ready = asyncio.Event()

    def on_data(packet: rtc.DataPacket) -> None:
        if b'"bot-ready"' in packet.data:
            ready.set()
        elif b'"bot-started-speaking"' in packet.data:
            print(json.dumps({"bot_started_speaking": True}), flush=True)

    room.on("data_received", on_data)
    while not ready.is_set():
        hello = protocol.build_message("client-ready", client_ready_data())
        await room.local_participant.publish_data(hello.payload, reliable=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ready.wait(), 2.0)
    print(json.dumps({"bot_ready": True}), flush=True)
    turn = 0
    while True:
        turn += 1
        text = protocol.build_message("user_text_message", {"text": f"hello number {turn}"})
        await room.local_participant.publish_data(text.payload, reliable=True)
        await asyncio.sleep(every_s)


async def main(details: dict[str, str], say_every_s: float | None) -> None:
    api = ConnectApiClient(details["connect_url"], details["api_key"])
    try:
        creds = await api.connect(ConnectRequest(character_id=details["character_id"]))
    finally:
        await api.aclose()
    room = rtc.Room()
    await room.connect(creds.room_url, creds.token)
    platform = rtc.PlatformAudio()
    source = platform.create_audio_source(rtc.PlatformAudioOptions())
    track = rtc.LocalAudioTrack.create_audio_track("microphone", source)
    await room.local_participant.publish_track(
        track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE))
    print(json.dumps({"ready": True}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    talking = asyncio.create_task(talk(room, say_every_s)) if say_every_s else None
    await stop.wait()
    if talking is not None:
        talking.cancel()
    await room.disconnect()
    source.close()
    platform.close()


if __name__ == "__main__":
    import os

    every = float(sys.argv[sys.argv.index("--say-every") + 1]) if "--say-every" in sys.argv else None
    asyncio.run(main(json.loads(sys.argv[1]), every))
    os._exit(0)  # skip livekit's exit-time dispose (see convai_tui/runtime/shutdown.py)
