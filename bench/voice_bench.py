"""voice_round_trip_ms: a short chirp played into the virtual microphone until it is heard on the
virtual speaker, through the real client (`convai-tui run --headless --json --audio`), LiveKit
and the stand-in in `--voice echo` mode (it plays the user's track straight back).

A private PulseAudio daemon (tests/audio/pulse.py: null sinks `mic` and `spk`, default source
`mic.monitor`, default sink `spk`) gets one more null sink, `mix` (stereo), and two loopbacks:
`mic.monitor` → left, `spk.monitor` → right, identical settings. One `parec` of `mix.monitor`
then holds what the microphone heard and what the speaker played on one clock; the round trip
of each chirp is the right channel's onset minus the left channel's. The two loopbacks' own
latencies are equal by construction and cancel (their residual drift is ±2 ms, see
docs/BENCHMARKS.md)."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import CLI, ROOT, client_env, percentiles, stop_process

RATE = 48_000
SPACING_S = 1.5
LEAD_S = 1.0
CHIRP_S = 0.04
LOOP_OPEN_S = 1.0
"""Without an echo canceller, how long after each chirp the speaker stays coupled into the
microphone: the first and second echo (T and 2T, T up to ~0.45 s) fall inside."""
LOOP_SHUT_UNTIL_S = SPACING_S - 0.05
"""... and when it is coupled again, once what was in flight when it opened has played out."""


def chirp() -> np.ndarray:
    t = np.arange(int(RATE * CHIRP_S)) / RATE
    f0, f1 = 700.0, 2500.0
    phase = 2 * np.pi * (f0 * t + (f1 - f0) * t * t / (2 * CHIRP_S))
    env = np.minimum(1.0, t / 0.001) * np.minimum(1.0, (CHIRP_S - t) / 0.005)
    return (0.5 * env * np.sin(phase)).astype(np.float32)


def stimulus(path: Path, runs: int) -> None:
    total = np.zeros(int(RATE * (LEAD_S + SPACING_S * runs + 0.5)), dtype=np.float32)
    burst = chirp()
    for i in range(runs):
        at = int(RATE * (LEAD_S + SPACING_S * i))
        total[at:at + burst.size] = burst
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes((total * 32767).astype(np.int16).tobytes())


def _envelope(x: np.ndarray) -> np.ndarray:
    win = int(RATE * 0.001)
    return np.convolve(np.abs(x), np.ones(win) / win, mode="same")


def onsets(left: np.ndarray, right: np.ndarray, runs: int) -> list[float]:
    """Round trips in ms: each left-channel chirp onset to the next right-channel onset."""
    return [round((t_r - t_l) * 1000 / RATE, 1) for t_l, t_r in onset_pairs(left, right, runs)]


def onset_pairs(left: np.ndarray, right: np.ndarray, runs: int) -> list[tuple[int, int]]:
    """(left onset, right onset) sample positions of each chirp that came back."""
    env_l, env_r = _envelope(left), _envelope(right)
    out: list[tuple[int, int]] = []
    floor_r = float(np.percentile(env_r, 50))
    pos = 0
    for _ in range(runs):
        seg = env_l[pos:]
        if seg.size == 0 or seg.max() < 0.05:
            break
        peak = float(seg[: int(RATE * SPACING_S)].max()) if seg.size > RATE else float(seg.max())
        above = np.flatnonzero(seg > 0.3 * peak)
        if above.size == 0:
            break
        t_l = pos + int(above[0])
        window = env_r[t_l: t_l + int(RATE * (SPACING_S - 0.1))]
        if window.size:
            peak_r = float(window.max())
            if peak_r > max(0.01, 8 * floor_r):
                t_r = t_l + int(np.flatnonzero(window > 0.3 * peak_r)[0])
                out.append((t_l, t_r))
        pos = t_l + int(RATE * (SPACING_S - 0.3))
    return out


def echo_return_loss(right: np.ndarray, pairs: list[tuple[int, int]],
                     open_s: float | None = None) -> list[float]:
    """dB between each chirp's echo as played (right channel, round trip T after the chirp)
    and what the client sent again of it (the second echo, 2T after): with the speaker coupled
    back into the microphone, that is the echo the client's APM let through (capped at 60).
    `open_s`: the coupling was cut that long after each chirp; a chirp whose second echo
    would end later is left out (it was never sent again)."""
    out: list[float] = []
    span = int(RATE * (CHIRP_S + 0.01))
    for t_l, t_r in pairs:
        trip = t_r - t_l
        if open_s is not None and 2 * trip + span > int(RATE * open_s):
            continue
        first = right[t_r - int(RATE * 0.005): t_r + span]
        second = right[t_r + trip - int(RATE * 0.005): t_r + trip + span]
        if first.size == 0 or second.size < first.size:
            continue
        e1 = float(np.mean(first.astype(np.float64) ** 2))
        e2 = float(np.mean(second.astype(np.float64) ** 2))
        out.append(round(min(60.0, 10 * np.log10(e1 / max(e2, e1 * 1e-6))), 1))
    return out


def _wait_for_line(proc: subprocess.Popen[str], kind: str, timeout: float) -> dict[str, Any]:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline()
            if not line:
                break
            event = json.loads(line)
            if event.get("type") == kind:
                return event
    raise RuntimeError(f"no {kind} from the client within {timeout} s")


def _coupling_input(pulse: Any, module: str) -> str:
    """The sink input that module-loopback `module` plays into the microphone with."""
    current: str | None = None
    for line in pulse.pactl("list", "sink-inputs").splitlines():
        line = line.strip()
        if line.startswith("Sink Input #"):
            current = line.removeprefix("Sink Input #")
        elif line == f"Owner Module: {module}" and current is not None:
            return current
    raise RuntimeError(f"no sink input of module {module}")


def _open_loop_per_chirp(pulse: Any, sink_input: str, started: float, runs: int) -> None:
    """Mute the speaker-to-microphone coupling from LOOP_OPEN_S after each chirp until just
    before the next. Without a canceller the loop's gain is about 0 dB: a chirp would go round
    for good (-10 to -20 dBFS on the speaker all session, measured), every later chirp would
    land on that ring, and no onset or echo could be told apart."""
    for i in range(runs):
        chirp_at = started + LEAD_S + SPACING_S * i
        for offset, mute in ((LOOP_OPEN_S, "1"), (LOOP_SHUT_UNTIL_S, "0")):
            time.sleep(max(0.0, chirp_at + offset - time.monotonic()))
            pulse.pactl("set-sink-input-mute", sink_input, mute)


def measure(details: dict[str, str], runs: int, extra_env: dict[str, str] | None = None,
            keep: Path | None = None, coupled: bool = False,
            client_flags: tuple[str, ...] = (), open_loop: bool = False,
            client_root: Path = ROOT) -> dict[str, Any]:
    """One session; ``coupled`` also loops the speaker back into the microphone (0 dB, as a
    laptop's speaker next to its mic at worst) and adds ``echo_return_loss_db``; ``open_loop``
    cuts that coupling between chirps (the reference without an echo canceller);
    ``client_root`` holds the ``convai_tui`` the client runs from (bench/voice_ab.py)."""
    from tests.audio.pulse import PulseUnavailable, start_pulse

    try:
        pulse = start_pulse()
    except PulseUnavailable as exc:
        return {"p50": None, "p95": None, "status": f"no PulseAudio: {exc}"}
    tmp = Path(tempfile.mkdtemp(prefix="convai-voice-bench-"))
    client: subprocess.Popen[str] | None = None
    recorder: subprocess.Popen[bytes] | None = None
    player: subprocess.Popen[bytes] | None = None
    try:
        pulse.pactl("load-module", "module-null-sink", "sink_name=mix", f"rate={RATE}",
                    "channels=2", "channel_map=front-left,front-right")
        for source, side in (("mic.monitor", "front-left"), ("spk.monitor", "front-right")):
            pulse.pactl("load-module", "module-loopback", f"source={source}", "sink=mix",
                        "latency_msec=10", "channels=1", f"channel_map={side}",
                        "source_dont_move=true", "sink_dont_move=true")
        coupling: str | None = None
        if coupled:
            module = pulse.pactl("load-module", "module-loopback", "source=spk.monitor",
                                 "sink=mic", "latency_msec=10", "source_dont_move=true",
                                 "sink_dont_move=true").strip()
            coupling = _coupling_input(pulse, module) if open_loop else None
        env = {**client_env(pulse.env, tmp), **(extra_env or {})}
        wav_path = tmp / "chirps.wav"
        stimulus(wav_path, runs)
        client = subprocess.Popen(
            [*CLI, "run", "--headless", "--json", "--audio", *client_flags, "--duration", "300",
             "--snapshot", str(tmp / "snapshot.json"),
             "--connect-url", details["connect_url"], "--api-key", details["api_key"],
             "--character-id", details["character_id"]],
            cwd=client_root, env={**env, "PYTHONPATH": str(client_root)},
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        _wait_for_line(client, "bot_ready", 60)
        time.sleep(1.0)  # the echo track is subscribed and playback has started
        raw = tmp / "mix.raw"
        with open(raw, "wb") as sink:
            recorder = subprocess.Popen(
                ["parec", "--device=mix.monitor", "--raw", "--format=s16le", f"--rate={RATE}",
                 "--channels=2", "--latency-msec=10"],
                env=pulse.client_env(), stdout=sink, stderr=subprocess.DEVNULL)
            time.sleep(0.3)
            player = subprocess.Popen(["paplay", "--device=mic", str(wav_path)],
                                      env=pulse.client_env())
            if coupling is not None:
                _open_loop_per_chirp(pulse, coupling, time.monotonic(), runs)
            if player.wait(timeout=runs * SPACING_S + 30) != 0:
                raise RuntimeError("paplay failed")
            time.sleep(1.0)
            recorder.send_signal(signal.SIGINT)
            recorder.wait(10)
        audio = _client_audio_stats(client, tmp / "snapshot.json")
        data = np.frombuffer(raw.read_bytes(), dtype=np.int16).reshape(-1, 2) / 32768.0
        if keep is not None:
            np.save(keep, data)
        pairs = onset_pairs(data[:, 0], data[:, 1], runs)
        trips = [round((t_r - t_l) * 1000 / RATE, 1) for t_l, t_r in pairs]
        result: dict[str, Any] = {**percentiles(trips), "runs": runs, "heard": len(trips),
                                  "all": trips, "client_audio": audio}
        if coupled:
            loss = echo_return_loss(data[:, 1], pairs, LOOP_OPEN_S if open_loop else None)
            result["echo_return_loss_db"] = {**percentiles(loss), "all": loss}
        if len(trips) < runs:
            result["status"] = f"only {len(trips)} of {runs} chirps came back"
        return result
    finally:
        if player is not None and player.poll() is None:
            player.kill()
            player.wait()
        if recorder is not None and recorder.poll() is None:
            recorder.kill()
            recorder.wait()
        if client is not None:
            stop_process(client, signal.SIGINT, 15)
        pulse.stop()
        if keep is None:
            for item in tmp.rglob("*"):
                if item.is_file():
                    item.unlink()


def _client_audio_stats(client: subprocess.Popen[str], snapshot: Path) -> dict[str, Any]:
    """End the client and read its audio counters (underruns, drops) from its snapshot."""
    stop_process(client, signal.SIGINT, 15)
    try:
        audio = json.loads(snapshot.read_text())["metrics"].get("audio") or {}
    except (OSError, ValueError, KeyError) as exc:
        return {"error": str(exc)}
    keys = ("frames_sent", "remote_frames", "underruns", "underrun_samples",
            "jitter_overflows", "jitter_trimmed_samples", "mic_overflows", "speaker_device_underflows")
    return {key: audio.get(key) for key in keys}


def floor_ms() -> dict[str, float]:
    """The physical floor of the chain with the default settings (see docs/BENCHMARKS.md)."""
    parts = {"capture_frame": 10.0, "input_device": 30.0, "opus_packet": 20.0,
             "jitter_target": 20.0, "output_device": 20.0}
    return {**parts, "total": sum(parts.values())}


def run(details: dict[str, str], runs: int, smoke: bool = False) -> dict[str, Any]:
    result = measure(details, runs)
    if smoke:  # bench/run --smoke: the round trip only; echo return loss needs two more sessions
        return {"voice_round_trip_ms": {**result, "floor_ms": floor_ms()["total"]}}
    coupled = measure(details, runs, coupled=True)
    no_aec = measure(details, runs, coupled=True, client_flags=("--no-aec",), open_loop=True)
    return {"voice_round_trip_ms": {**result, "floor_ms": floor_ms()["total"]},
            "echo_return_loss_db": {
                "aec": coupled.get("echo_return_loss_db"),
                "no_aec": no_aec.get("echo_return_loss_db"),
                "round_trip_ms_coupled": {"p50": coupled.get("p50"), "p95": coupled.get("p95")},
                "status": coupled.get("status") or no_aec.get("status")}}


if __name__ == "__main__":  # a one-off with the stand-in
    import sys

    from bench.common import StandIn

    # python -m bench.voice_bench [N] [--coupled] [--no-aec]
    n = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 5
    flags = ("--no-aec",) if "--no-aec" in sys.argv else ()
    with StandIn("--voice", "echo", "--tts", "none") as standin:
        out = measure(standin.details, n, keep=Path("/tmp/voice_mix.npy"),
                      coupled="--coupled" in sys.argv, client_flags=flags,
                      open_loop="--coupled" in sys.argv and bool(flags))
    print(json.dumps(out))
    os._exit(0)
