"""web_sdk: Convai's @convai/web-sdk in headless Chromium against the same stand-in."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

HARNESS = Path(__file__).resolve().parent / "webclient"


def run(details: dict[str, str], runs: int, talk_s: float, audio: Path | None,
        say_every_s: float | None = None, sound_env: dict[str, str] | None = None,
        ) -> dict[str, Any]:
    """``say_every_s``: a text turn that often while talking; ``sound_env``: Chromium without
    its fake capture device, playing through the sound server these variables name (it opened
    no capture stream there in our check: see run.mjs)."""
    cmd = ["node", str(HARNESS / "run.mjs"), "bench", "--details", json.dumps(details),
           "--runs", str(runs), "--talk-seconds", str(talk_s)]
    if audio is not None:
        cmd += ["--audio", str(audio)]
    if say_every_s:
        cmd += ["--say-every", str(say_every_s)]
    if sound_env is not None:
        cmd += ["--real-devices", "1"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False,
                          env=sound_env)
    try:
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        result = {"ok": False, "error": done.stderr[-500:]}
    if not result.get("ok"):
        return {"connect_to_ready_ms": {"p50": None, "p95": None},
                "cpu_percent": {"talking": None}, "error": result.get("error")}
    return {"connect_to_ready_ms": result["connect_to_ready_ms"],
            "text_turn_ms": result["text_turn_ms"],
            "cpu_percent": {"talking": round(result["talking"]["cpu_percent"], 2)},
            "replies": result["talking"].get("replies"),
            "ice": result.get("ice")}
