"""A private, userspace PulseAudio daemon for audio tests and manual checks.

It has two null sinks: ``mic`` (play into it; its monitor ``mic.monitor`` is the default source,
so whatever is played there is what the "microphone" hears) and ``spk`` (the default sink; record
``spk.monitor`` to hear what the program played). PortAudio reaches it through ALSA's pulse
plugin (Debian package ``libasound2-plugins``), selected by ``PULSE_SERVER``.

The incantation that works as root, without D-Bus or a login session::

    export XDG_RUNTIME_DIR=$DIR PULSE_RUNTIME_PATH=$DIR HOME=$DIR XDG_CONFIG_HOME=$DIR
    pulseaudio --daemonize=no --system=false --exit-idle-time=-1 -n -F $DIR/default.pa \\
        --realtime=false --high-priority=false --log-target=stderr
    export PULSE_SERVER=unix:$DIR/native

``--system=false`` as root only prints a warning. ``-n`` skips /etc/pulse/default.pa (which
would probe for real hardware); the script below loads the protocol with anonymous auth so no
cookie is needed. ``scripts/pulse-env.sh`` does the same from a shell.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REQUIRED_TOOLS = ("pulseaudio", "pactl", "paplay", "parec", "espeak-ng")
SAMPLE_RATE = 48_000

_SCRIPT = """\
load-module module-native-protocol-unix socket={socket} auth-anonymous=1
load-module module-null-sink sink_name=mic rate={rate} channels=1 sink_properties=device.description=test-mic
load-module module-null-sink sink_name=spk rate={rate} channels=1 sink_properties=device.description=test-speaker
load-module module-always-sink
load-module module-null-sink sink_name=drain rate={rate} channels=1 sink_properties=device.description=test-drain
load-module module-null-source source_name=quiet rate={rate} channels=1
load-module module-loopback source=quiet sink=mic latency_msec=10 source_dont_move=true sink_dont_move=true
load-module module-loopback source=spk.monitor sink=drain latency_msec=10 source_dont_move=true sink_dont_move=true
set-default-source mic.monitor
set-default-sink spk
"""


class PulseUnavailable(RuntimeError):
    """PulseAudio (or one of its tools) is missing or would not start."""


def missing_tools() -> list[str]:
    """The PulseAudio command-line tools not found on PATH."""
    return [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]


@dataclass
class PulseServer:
    """A running private daemon; ``env`` holds the variables a client needs."""

    runtime_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    _owns_dir: bool = True

    @property
    def server(self) -> str:
        return self.env["PULSE_SERVER"]

    def client_env(self) -> dict[str, str]:
        """``os.environ`` plus this server's variables, for subprocesses."""
        return {**os.environ, **self.env}

    def pactl(self, *args: str, timeout: float = 5.0) -> str:
        result = subprocess.run(
            ["pactl", *args],
            env=self.client_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise PulseUnavailable(f"pactl {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the daemon, wait for it (no zombie is left), remove the runtime dir."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if self._owns_dir:
            shutil.rmtree(self.runtime_dir, ignore_errors=True)

    def __enter__(self) -> PulseServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_pulse(runtime_dir: Path | None = None, timeout: float = 10.0) -> PulseServer:
    """Start a private daemon and wait until ``pactl info`` answers; raise PulseUnavailable if not."""
    missing = missing_tools()
    if missing:
        raise PulseUnavailable(
            f"missing {', '.join(missing)}: apt-get install -y pulseaudio pulseaudio-utils espeak-ng"
        )
    owns_dir = runtime_dir is None
    rdir = Path(tempfile.mkdtemp(prefix="convai-pulse-")) if runtime_dir is None else runtime_dir
    rdir.mkdir(parents=True, exist_ok=True)
    os.chmod(rdir, 0o700)  # pulseaudio refuses a runtime dir others can write
    socket = rdir / "native"
    script = rdir / "default.pa"
    script.write_text(_SCRIPT.format(socket=socket, rate=SAMPLE_RATE))
    log_path = rdir / "pulseaudio.log"
    daemon_env = {
        **os.environ,
        "XDG_RUNTIME_DIR": str(rdir),
        "PULSE_RUNTIME_PATH": str(rdir),
        "HOME": str(rdir),  # keeps cookie and config lookups out of the real home
        "XDG_CONFIG_HOME": str(rdir),
    }
    daemon_env.pop("PULSE_SERVER", None)
    cmd = [
        "pulseaudio",
        "--daemonize=no",
        "--system=false",
        "--exit-idle-time=-1",
        "--realtime=false",
        "--high-priority=false",
        "-n",
        "-F",
        str(script),
        "--log-target=stderr",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            cmd, env=daemon_env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    server = PulseServer(
        rdir, process, log_path, {"PULSE_SERVER": f"unix:{socket}"}, _owns_dir=owns_dir
    )
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = server.log_tail()
            server.stop()
            raise PulseUnavailable(f"pulseaudio exited with {process.returncode}:\n{tail}")
        if socket.exists():
            try:
                info = server.pactl("info", timeout=2.0)
            except (PulseUnavailable, subprocess.TimeoutExpired) as exc:
                last_error = str(exc)
            else:
                if "Default Sink: spk" in info and "Default Source: mic.monitor" in info:
                    break
                last_error = info
        time.sleep(0.05)
    else:
        tail = server.log_tail()
        server.stop()
        raise PulseUnavailable(f"pulseaudio did not answer in {timeout} s: {last_error}\n{tail}")
    try:
        for monitor in ("mic.monitor", "spk.monitor"):
            _wait_until_flowing(server, monitor, deadline - time.monotonic())
    except PulseUnavailable:
        server.stop()
        raise
    return server


def _wait_until_flowing(server: PulseServer, source: str, timeout: float) -> None:
    """Block until ``source`` delivers audio.

    A freshly loaded null sink sleeps through its first block (up to ~2 s) before it honours
    the low latency its streams ask for; a stream opened in that window gets nothing for that
    long. Waiting here keeps that start-up quirk out of the tests' timing.
    """
    probe = subprocess.Popen(
        [
            "parec",
            f"--device={source}",
            "--raw",
            "--latency-msec=10",
            "--format=s16le",
            f"--rate={SAMPLE_RATE}",
            "--channels=1",
        ],
        env=server.client_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert probe.stdout is not None
    received = 0
    deadline = time.monotonic() + max(timeout, 0.5)
    try:
        while received < 4800 and time.monotonic() < deadline:  # 50 ms of audio
            ready, _, _ = select.select([probe.stdout], [], [], 0.1)
            if ready:
                chunk = os.read(probe.stdout.fileno(), 65536)
                if not chunk:
                    break
                received += len(chunk)
    finally:
        probe.terminate()
        probe.wait(5)
        probe.stdout.close()
    if received < 4800:
        raise PulseUnavailable(f"{source} delivered no audio within {timeout:.1f} s")
