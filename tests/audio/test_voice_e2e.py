"""Voice end to end, as the issue's done-when states it: PulseAudio null sinks (default source
= monitor of `mic`, default sink `spk`), speech played into `mic` with paplay during
`convai-tui run --headless --json --audio --exit-after-reply` against `local-server` gives a
final user transcript, a final character transcript, exit 0, and real signal on `spk.monitor`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from tests.audio.pulse import PulseServer
from tests.integration.standin_client import require_livekit_server

pytestmark = [pytest.mark.audio, pytest.mark.integration, pytest.mark.serial]
CLI = [sys.executable, "-m", "convai_tui"]


def speech_wav(path: Path, text: str) -> None:
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True, timeout=30)


def peak_of(path: Path) -> float:
    with wave.open(str(path)) as wav:
        frames = wav.readframes(wav.getnframes())
    samples = np.frombuffer(frames, dtype=np.int16)
    return float(np.abs(samples).max()) / 32768.0 if samples.size else 0.0


def test_speech_in_reply_out(pulse: PulseServer, tmp_path: Path) -> None:
    require_livekit_server()
    env = {
        **os.environ,
        **pulse.env,
        "CONVAI_CONFIG": str(tmp_path / "none.toml"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    server = subprocess.Popen(
        [*CLI, "local-server", "--port", "0", "--voice", "reply"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    recorder: subprocess.Popen[bytes] | None = None
    try:
        assert server.stdout is not None
        details = json.loads(server.stdout.readline())
        speech = tmp_path / "speech.wav"
        speech_wav(speech, "Hello there, can you hear me? This is a test of the microphone.")
        recording = tmp_path / "spk.wav"
        recorder = subprocess.Popen(
            [
                "parecord",
                "--device=spk.monitor",
                "--channels=1",
                "--rate=48000",
                "--format=s16le",
                "--file-format=wav",
                str(recording),
            ],
            env=env,
        )
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
        # Speak once the session is up (the character greets first), then wait for the end.
        events: list[dict[str, object]] = []
        assert client.stdout is not None
        deadline = time.monotonic() + 60
        player: subprocess.Popen[bytes] | None = None
        for line in client.stdout:
            event = json.loads(line)
            events.append(event)
            if event["type"] == "bot_ready" and player is None:
                time.sleep(0.5)
                player = subprocess.Popen(["paplay", "--device=mic", str(speech)], env=env)
            assert time.monotonic() < deadline, "no reply within 60 s"
        code = client.wait(timeout=30)
        stderr = client.stderr.read() if client.stderr else ""
        assert code == 0, stderr[-2000:]
        finals = [
            (e["role"], e["text"]) for e in events if e["type"] == "transcript" and e["final"]
        ]
        roles = [role for role, _ in finals]
        assert "user" in roles and "character" in roles, finals
        user_text = next(text for role, text in finals if role == "user")
        assert str(user_text).startswith("[speech 1: ")
        # the whole sentence, its comma and full-stop pauses included, was one utterance
        spoken_s = float(str(user_text).split(": ")[1].split(" s")[0])
        assert spoken_s > 2.5, user_text
        time.sleep(0.5)
    finally:
        if recorder is not None:
            recorder.send_signal(signal.SIGINT)
            recorder.wait(timeout=10)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
    assert peak_of(recording) > 0.05
