"""A voice turn's turn_timing total_ms against an external measurement of the same turn:
the private PulseAudio mic and speaker recorded on one clock (voice_bench.py's mix method),
the reply's onset on the speaker minus the end of an 0.8 s tone burst on the mic. Run from the
repository root: python -m bench.turn_timing_external"""

import json
import signal
import subprocess
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

from bench.common import CLI, ROOT, client_env, stop_process
from tests.audio.pulse import start_pulse

RATE = 48_000


def burst(path: Path) -> None:
    t = np.arange(int(RATE * 0.8)) / RATE
    x = (
        0.5
        * np.sin(2 * np.pi * 300 * t)
        * np.minimum(1, t / 0.002)
        * np.minimum(1, (0.8 - t) / 0.002)
    )
    total = np.concatenate([np.zeros(RATE // 2), x, np.zeros(RATE * 4)])
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((total * 32767).astype(np.int16).tobytes())


def env(x):
    win = int(RATE * 0.001)
    return np.convolve(np.abs(x), np.ones(win) / win, mode="same")


tmp = Path(tempfile.mkdtemp())
pulse = start_pulse()
server = client = rec = None
try:
    pulse.pactl(
        "load-module",
        "module-null-sink",
        "sink_name=mix",
        f"rate={RATE}",
        "channels=2",
        "channel_map=front-left,front-right",
    )
    for source, side in (("mic.monitor", "front-left"), ("spk.monitor", "front-right")):
        pulse.pactl(
            "load-module",
            "module-loopback",
            f"source={source}",
            "sink=mix",
            "latency_msec=10",
            "channels=1",
            f"channel_map={side}",
            "source_dont_move=true",
            "sink_dont_move=true",
        )
    e = client_env(pulse.env, tmp)
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
        env=e,
        cwd=ROOT,
    )
    d = json.loads(server.stdout.readline())
    client = subprocess.Popen(
        [
            *CLI,
            "run",
            "--headless",
            "--json",
            "--audio",
            "--duration",
            "25",
            "--connect-url",
            d["connect_url"],
            "--api-key",
            d["api_key"],
            "--character-id",
            d["character_id"],
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=e,
        cwd=ROOT,
    )
    for line in client.stdout:
        if json.loads(line)["type"] == "bot_ready":
            break
    time.sleep(2.0)
    wav = tmp / "burst.wav"
    burst(wav)
    raw = tmp / "mix.raw"
    with open(raw, "wb") as sink:
        rec = subprocess.Popen(
            [
                "parec",
                "--device=mix.monitor",
                "--raw",
                "--format=s16le",
                f"--rate={RATE}",
                "--channels=2",
                "--latency-msec=10",
            ],
            env=pulse.client_env(),
            stdout=sink,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.3)
        subprocess.run(
            ["paplay", "--device=mic", str(wav)], env=pulse.client_env(), check=True, timeout=30
        )
        time.sleep(1.0)
        rec.send_signal(signal.SIGINT)
        rec.wait(10)
    timings = []
    for line in client.stdout:
        ev = json.loads(line)
        if ev["type"] == "turn_timing":
            timings.append(ev)
            break
    data = np.frombuffer(raw.read_bytes(), dtype=np.int16).reshape(-1, 2) / 32768.0
    el, er = env(data[:, 0]), env(data[:, 1])
    above = np.flatnonzero(el > 0.3 * el.max())
    mic_end = above[-1]
    after = er[mic_end:]
    peak_r = after.max()
    spk_on = mic_end + np.flatnonzero(after > 0.3 * peak_r)[0]
    external = (spk_on - mic_end) * 1000 / RATE
    for t in timings:
        print(
            json.dumps({k: t[k] for k in ("input", "total_ms", "end")}),
            [(s["name"], s["ms"]) for s in t["segments"]],
        )
    print(f"external (speaker onset - mic end, one clock): {external:.1f} ms")
    if timings:
        print(f"difference total_ms - external: {timings[0]['total_ms'] - external:+.1f} ms")
finally:
    if client:
        stop_process(client, signal.SIGINT, 15)
    if server:
        server.terminate()
        server.wait(20)
    pulse.stop()
