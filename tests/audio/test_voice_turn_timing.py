"""A voice turn's waterfall through real audio: speech played into the private PulseAudio
microphone, the stand-in answering with a tone after known stage delays; the client's
turn_timing starts at its own VAD's end of speech, blames the VAD stop wait on the setting and
ends when the reply's first audible block left for the speaker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.audio.pulse import PulseServer
from tests.audio.test_voice_e2e import speech_wav
from tests.integration.standin_client import require_livekit_server

pytestmark = [pytest.mark.audio, pytest.mark.integration, pytest.mark.serial]
CLI = [sys.executable, "-m", "convai_tui"]


def test_voice_turn_is_timed_from_the_mic_to_the_speaker(
    pulse: PulseServer, tmp_path: Path
) -> None:
    require_livekit_server()
    env = {
        **os.environ,
        **pulse.env,
        "CONVAI_CONFIG": str(tmp_path / "none.toml"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    server = subprocess.Popen(
        [
            *CLI,
            "local-server",
            "--port",
            "0",
            "--voice",
            "reply",
            "--tts",
            "tone",
            "--stage-delays",
            "llm=400,tts=250",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        details = json.loads(server.stdout.readline())
        speech = tmp_path / "speech.wav"
        speech_wav(speech, "Hello there, can you hear me?")
        client = subprocess.Popen(
            [
                *CLI,
                "run",
                "--headless",
                "--json",
                "--audio",
                "--exit-after-reply",
                "--connect-url",
                details["connect_url"],
                "--api-key",
                details["api_key"],
                "--character-id",
                details["character_id"],
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        events: list[dict[str, Any]] = []
        assert client.stdout is not None
        deadline = time.monotonic() + 60
        for line in client.stdout:
            event = json.loads(line)
            events.append(event)
            if event["type"] == "bot_ready":
                time.sleep(0.5)
                subprocess.Popen(["paplay", "--device=mic", str(speech)], env=env)
            assert time.monotonic() < deadline, "no reply within 60 s"
        assert client.wait(timeout=30) == 0, (client.stderr.read() if client.stderr else "")[-2000:]
    finally:
        server.terminate()
        server.wait(timeout=20)
    voice = [e for e in events if e["type"] == "turn_timing" and e["input"] == "voice"]
    assert voice, [e for e in events if e["type"] == "turn_timing"]
    timing = voice[0]
    parts = {s["name"]: s for s in timing["segments"]}
    assert parts["vad_stop_wait"]["owner"] == "setting", timing
    assert timing["end"] == "played", timing
    assert abs(parts["llm"]["ms"] - 400) <= 60 and abs(parts["tts"]["ms"] - 250) <= 60, timing
    total = timing["total_ms"]
    assert abs(sum(s["ms"] for s in timing["segments"]) - total) <= 0.05 * total
    print("voice turn_timing:", json.dumps(timing))
