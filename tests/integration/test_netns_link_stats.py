"""The link sampler under real impairment: 10 % loss and 100 ms each way between
`convai-tui run --headless` and `convai-tui local-server` (its character speaking tones, so
audio RTP flows), then a clean link again.

    root namespace          cvt-lk-<pid>-mid                 cvt-lk-<pid>-srv
    client 10.232.n.1 ═ veth ═ [delay bridge] ═ veth ═ 10.232.n.2 local-server

This kernel has no netem (see test_netns_chaos.py), so the delay and the loss come from
netns_delay_bridge.py, a user-space two-port bridge in the middle namespace (netem's job, done
on the frames themselves). Asserted: the samples show loss > 0 and RTT up by about the added
200 ms round trip while impaired; `transport.link_degraded` is raised then, and cleared
(warnings empty, the "cleared" log line) once the link is clean again.

Needs root; fails in CI (CI=true) when the machine cannot do this, skips loudly elsewhere.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.integration.headless_harness import CLI, HeadlessRun, LocalServer, clean_env
from tests.integration.standin_client import require_livekit_server
from tests.integration.test_netns_chaos import _cmd, _pump, _readline, _unavailable

pytestmark = [pytest.mark.integration, pytest.mark.serial]

BRIDGE = Path(__file__).with_name("netns_delay_bridge.py")
ONE_WAY_DELAY_MS = 100
LOSS_PCT = 10
_SAY = [arg for i in range(200) for arg in ("--say", f"turn {i}")]


@dataclass
class BridgedLink:
    """Client (root namespace) ═ bridge namespace ═ server namespace, one /30 across."""

    tag: str
    subnet: int = 0
    created: list[str] = field(default_factory=list)
    bridge: subprocess.Popen[str] | None = None

    @property
    def mid(self) -> str:
        return f"cvt-lk-{self.tag}-mid"

    @property
    def srv(self) -> str:
        return f"cvt-lk-{self.tag}-srv"

    @property
    def host_addr(self) -> str:
        return f"10.232.{self.subnet}.1"

    @property
    def srv_addr(self) -> str:
        return f"10.232.{self.subnet}.2"

    def dev(self, end: str) -> str:
        return f"cvl{self.tag}{end}"  # h: client end, a/b: bridge ends, s: server end

    def in_ns(self, ns: str, *args: str) -> list[str]:
        return ["ip", "netns", "exec", ns, *args]

    def create(self) -> None:
        used = _cmd("ip", "-4", "addr").stdout + _cmd("ip", "-4", "route").stdout
        self.subnet = next(
            n for n in range(os.getpid() % 200 + 1, 255) if f"10.232.{n}." not in used
        )
        for ns in (self.mid, self.srv):
            _cmd("ip", "netns", "add", ns)
            self.created.append(ns)
        _cmd("ip", "link", "add", self.dev("h"), "type", "veth", "peer", "name", self.dev("a"))
        self.created.append("veth")
        _cmd("ip", "link", "add", self.dev("b"), "type", "veth", "peer", "name", self.dev("s"))
        _cmd("ip", "link", "set", self.dev("a"), "netns", self.mid)
        _cmd("ip", "link", "set", self.dev("b"), "netns", self.mid)
        _cmd("ip", "link", "set", self.dev("s"), "netns", self.srv)
        _cmd("ip", "addr", "add", f"{self.host_addr}/30", "dev", self.dev("h"))
        _cmd("ip", "link", "set", self.dev("h"), "up")
        for end in ("a", "b"):
            _cmd(
                *self.in_ns(
                    self.mid, "sysctl", "-qw", f"net.ipv6.conf.{self.dev(end)}.disable_ipv6=1"
                )
            )
            _cmd(*self.in_ns(self.mid, "ip", "link", "set", self.dev(end), "promisc", "on", "up"))
        _cmd(
            *self.in_ns(self.srv, "ip", "addr", "add", f"{self.srv_addr}/30", "dev", self.dev("s"))
        )
        _cmd(*self.in_ns(self.srv, "ip", "link", "set", self.dev("s"), "up"))
        _cmd(*self.in_ns(self.srv, "ip", "link", "set", "lo", "up"))
        self.bridge = subprocess.Popen(
            self.in_ns(self.mid, sys.executable, str(BRIDGE), self.dev("a"), self.dev("b")),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        if _readline(self.bridge, timeout=10).strip() != "ready":
            raise RuntimeError("the delay bridge did not start")

    def command(self, line: str) -> str:
        assert self.bridge is not None and self.bridge.stdin is not None
        self.bridge.stdin.write(line + "\n")
        self.bridge.stdin.flush()
        return _readline(self.bridge, timeout=5).strip()

    def impair(self, delay_ms: float, loss_pct: float) -> None:
        assert self.command(f"set {delay_ms} {loss_pct}") == "ok"

    def dropped(self) -> int:
        return int(self.command("stats").split()[-1])

    def destroy(self) -> list[str]:
        if self.bridge is not None and self.bridge.poll() is None:
            self.bridge.kill()
            self.bridge.wait(timeout=10)
        if "veth" in self.created:
            _cmd("ip", "link", "del", self.dev("h"), check=False)
        for ns in (self.mid, self.srv):
            if ns in self.created:
                for pid in _cmd("ip", "netns", "pids", ns, check=False).stdout.split():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(int(pid), signal.SIGKILL)
                _cmd("ip", "netns", "del", ns, check=False)
        listed = _cmd("ip", "netns", "list").stdout.split()
        return [ns for ns in (self.mid, self.srv) if ns in listed]


@pytest.fixture
def link() -> Iterator[BridgedLink]:
    if sys.platform != "linux" or os.geteuid() != 0:
        _unavailable("needs root on Linux (network namespaces, veth)")
    if shutil.which("ip") is None:
        _unavailable("`ip` is missing (apt-get install -y iproute2)")
    require_livekit_server()
    link = BridgedLink(tag=str(os.getpid() % 100_000))
    try:
        link.create()
    except (RuntimeError, OSError, subprocess.SubprocessError, StopIteration) as exc:
        left = link.destroy()
        _unavailable(f"cannot build the bridged link: {exc}" + (f" (left: {left})" if left else ""))
    try:
        yield link
    finally:
        assert not link.destroy(), "cleanup left a namespace behind"


@pytest.fixture
def server(link: BridgedLink, tmp_path: Path) -> Iterator[LocalServer]:
    stderr_path = tmp_path / "local-server.stderr"
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            link.in_ns(
                link.srv,
                *CLI,
                "local-server",
                "--host",
                link.srv_addr,
                "--port",
                "0",
                "--tts",
                "tone",
            ),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=clean_env(tmp_path),
        )
    server: LocalServer | None = None
    try:
        line = _readline(process, timeout=60)
        assert line, f"local-server did not start: {stderr_path.read_text()[-2000:]}"
        details = json.loads(line)
        server = LocalServer(
            process,
            details["connect_url"],
            details["api_key"],
            details["character_id"],
            stderr_path,
            details["livekit_url"],
        )
        yield server
    finally:
        if server is not None:
            server.close()
        else:
            process.kill()
            process.wait(timeout=10)


def _samples(run: HeadlessRun, start: float, end: float) -> list[dict[str, Any]]:
    return [e for e in run.of("link_stats") if start <= e["ts"] < end]


def _median_rtt(samples: list[dict[str, Any]]) -> float:
    values: list[float] = [s["rtt_ms"] for s in samples if s["rtt_ms"] is not None]
    assert values, "no RTT was sampled"
    return statistics.median(values)


@pytest.mark.timeout(120)
def test_loss_and_delay_show_in_the_samples_and_raise_then_clear_the_warning(
    link: BridgedLink, server: LocalServer, tmp_path: Path
) -> None:
    run = HeadlessRun.start(
        server, tmp_path / "client", "--insecure-http", "--duration", "45", *_SAY
    )
    try:
        run.wait_type("bot_ready", within=30)
        _pump(run, 8.0)
        impaired_at = time.time()
        link.impair(ONE_WAY_DELAY_MS, LOSS_PCT)
        _pump(run, 15.0)
        dropped = link.dropped()
        cleared_at = time.time()
        link.impair(0, 0)
        _pump(run, 16.0)
        code = run.finish(within=40)
    finally:
        run.close()
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    baseline = _samples(run, 0, impaired_at)
    impaired = _samples(run, impaired_at + 4, cleared_at)  # RTT updates every ~2.5 s
    after = _samples(run, cleared_at, float("inf"))
    base_rtt, bad_rtt = _median_rtt(baseline), _median_rtt(impaired)
    lost = sum(s["lost_in_interval"] or 0 for s in impaired)
    print(
        f"bridge dropped {dropped} frames; RTT median {base_rtt:.0f} → {bad_rtt:.0f} ms; "
        f"{lost} audio packets lost while impaired; max loss "
        f"{max((s['loss_pct'] or 0) for s in impaired):.1f} %"
    )
    assert code == 0, run.stderr[-3000:]
    assert "error" not in run.states(), run.states()
    assert dropped > 0
    assert lost > 0 and any((s["loss_pct"] or 0) > 0 for s in impaired)
    added = bad_rtt - base_rtt
    assert 0.75 * 2 * ONE_WAY_DELAY_MS <= added <= 1.75 * 2 * ONE_WAY_DELAY_MS, added
    degraded = [e for e in run.of("error") if e["code"] == "transport.link_degraded"]
    assert degraded and impaired_at <= degraded[0]["ts"] <= cleared_at, degraded
    assert any(s["warnings"] for s in impaired)
    assert not after[-1]["warnings"], after[-1]
    cleared = [e for e in run.of("log") if "transport.link_degraded cleared" in e["message"]]
    assert cleared and cleared[0]["ts"] > cleared_at, cleared
    assert _median_rtt(after[-5:]) < base_rtt + 50
