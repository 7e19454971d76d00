"""Processes as a user runs them: `convai-tui local-server` and `convai-tui run --headless
--json`, with the headless output read live so a test can act mid-session (admin routes,
signals to livekit-server) and then check the whole event stream.

Every process started here is reaped by its owner's `close()` even when the test fails; every
wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLI = [sys.executable, "-m", "convai_tui"]


def clean_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVAI_")}
    env["CONVAI_CONFIG"] = str(tmp / "no-config.toml")
    env["XDG_STATE_HOME"] = str(tmp / "state")
    return env


def _stop(process: subprocess.Popen[str], grace_s: float = 20.0) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    return process.returncode


@dataclass
class LocalServer:
    """A `convai-tui local-server` child; `admin()` talks to its /_standin/ routes."""

    process: subprocess.Popen[str]
    connect_url: str
    api_key: str
    character_id: str
    stderr_path: Path
    livekit_url: str = ""

    @classmethod
    def start(cls, tmp: Path, *args: str) -> LocalServer:
        tmp.mkdir(parents=True, exist_ok=True)
        stderr_path = tmp / "local-server.stderr"
        with stderr_path.open("w") as stderr:
            process = subprocess.Popen(
                [*CLI, "local-server", "--port", "0", "--tts", "none", *args],
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env=clean_env(tmp),
            )
        assert process.stdout is not None
        ready: queue.Queue[str] = queue.Queue()
        threading.Thread(
            target=lambda: ready.put(process.stdout.readline() if process.stdout else ""),
            daemon=True,
        ).start()
        try:
            line = ready.get(timeout=60)
        except queue.Empty:
            line = ""
        if not line:
            _stop(process)
            raise AssertionError(f"local-server did not start: {stderr_path.read_text()[-2000:]}")
        details = json.loads(line)
        return cls(
            process,
            details["connect_url"],
            details["api_key"],
            details["character_id"],
            stderr_path,
            details["livekit_url"],
        )

    def close(self) -> int:
        return _stop(self.process)

    def admin(
        self, path: str, body: dict[str, Any] | None = None, *, method: str | None = None
    ) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.connect_url}/_standin/{path}",
            data=data,
            method=method or ("POST" if data is not None else "GET"),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=15) as response:
            return json.loads(response.read() or b"null")

    def requests(self) -> list[dict[str, Any]]:
        return list(self.admin("stats")["connect_requests"])

    def livekit_pid(self) -> int:
        """The livekit-server child of this stand-in (the only child process it has)."""
        children: list[int] = []
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            text = (task / "children").read_text().split()
            children.extend(int(pid) for pid in text)
        named = [
            pid
            for pid in children
            if "server" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        ]
        assert len(named) == 1, f"expected one livekit-server child, got {children}"
        return named[0]


@dataclass
class HeadlessRun:
    """`convai-tui run --headless --json` whose JSON lines are collected as they arrive."""

    process: subprocess.Popen[str]
    started: float
    events: list[dict[str, Any]] = field(default_factory=list)
    stderr: str = ""
    code: int | None = None
    _lines: queue.Queue[str | None] = field(default_factory=queue.Queue)
    _reader: threading.Thread | None = None

    @classmethod
    def start(
        cls,
        server: LocalServer,
        tmp: Path,
        *args: str,
        connect_url: str | None = None,
        env: dict[str, str] | None = None,
    ) -> HeadlessRun:
        tmp.mkdir(parents=True, exist_ok=True)
        cmd = [
            *CLI,
            "run",
            "--headless",
            "--json",
            "--connect-url",
            connect_url or server.connect_url,
            "--character-id",
            server.character_id,
            "--api-key",
            server.api_key,
            *args,
        ]
        process = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**clean_env(tmp), **(env or {})},
        )
        run = cls(process, time.monotonic())
        run._reader = threading.Thread(target=run._read, daemon=True)
        run._reader.start()
        return run

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _take(self, line: str) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(line)  # stdout carries JSON objects only
        assert isinstance(event.get("type"), str) and isinstance(event.get("ts"), float)
        self.events.append(event)
        return event

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], within: float = 30.0, what: str = "event"
    ) -> dict[str, Any]:
        for event in self.events:
            if predicate(event):
                return event
        deadline = time.monotonic() + within
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                self._lines.put(None)
                break
            event = self._take(line)
            if predicate(event):
                return event
        raise AssertionError(f"no {what} within {within} s; saw {self.types()}")

    def wait_type(self, kind: str, within: float = 30.0) -> dict[str, Any]:
        return self.wait_for(lambda e: e["type"] == kind, within, kind)

    def finish(self, within: float = 90.0) -> int:
        """Wait for the process to exit by itself (bounded), then collect everything."""
        try:
            self.process.wait(timeout=within)
        except subprocess.TimeoutExpired:
            self.close()
            raise AssertionError(
                f"the headless run did not end within {within} s; saw {self.types()}"
            ) from None
        return self.close()

    def close(self) -> int:
        if self.code is None:
            with contextlib.suppress(Exception):
                self.code = _stop(self.process, grace_s=15)
            if self._reader is not None:
                self._reader.join(timeout=10)
            while True:
                try:
                    line = self._lines.get_nowait()
                except queue.Empty:
                    break
                if line is not None:
                    self._take(line)
            if self.process.stderr is not None:
                self.stderr = self.process.stderr.read()
        assert self.code is not None
        return self.code

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]

    def states(self) -> list[str]:
        return [e["new"] for e in self.of("state_changed")]

    def errors(self) -> list[str]:
        return [e["code"] for e in self.of("error")]
