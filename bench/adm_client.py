"""The native-ADM reference client: LiveKit's own audio device module (`rtc.PlatformAudio`,
WebRTC's capture, playout and APM in native code), in the same kind of session as ours.

`python -m bench.adm_client '<stand-in details JSON>'` asks the stand-in's /connect for a room
(as our client does), joins it, publishes the default microphone through `PlatformAudio` with
echo cancellation, noise suppression and AGC on, and lets the ADM play the character's track.
It prints one JSON line `{"ready": true}` once published and runs until SIGTERM/SIGINT. The SDK
is used as shipped (its native log forwarding on), as any LiveKit Python client would.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys

from livekit import rtc

from convai_tui.core.connect.connect_api import ConnectApiClient, ConnectRequest


async def main(details: dict[str, str]) -> None:
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
    await stop.wait()
    await room.disconnect()
    source.close()
    platform.close()


if __name__ == "__main__":
    import os

    asyncio.run(main(json.loads(sys.argv[1])))
    os._exit(0)  # skip livekit's exit-time dispose (see convai_tui/runtime/shutdown.py)
