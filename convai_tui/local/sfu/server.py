"""Find, start and stop a real ``livekit-server`` on loopback (or use an external LiveKit).

The stand-in needs a real SFU because the client under test speaks real WebRTC. We run the
pinned ``livekit-server`` binary as a child process, bound to 127.0.0.1, with a random API key
and secret per run, so nothing outside this machine can join and nothing is left configured.

What a connected client sees (measured with livekit-server v1.13.5 and the ``livekit`` Python
SDK 1.2.0; pinned by tests/integration/test_standin_livekit.py):

* ``restart()`` -- the signal proxy in front of the child (signal_proxy.py) sends every
  client a ``SERVER_SHUTDOWN`` leave, then the child gets SIGTERM twice (the first only starts
  a drain that waits for every participant; the second forces the close) and starts again on
  the same ports and keys. Clients get ``disconnected`` with
  ``DisconnectReason.SERVER_SHUTDOWN`` (3) and do not resume. Without the proxy that leave was
  lost in ~10-20 % of runs (livekit-server exits before writing it) and the client saw a bare
  signal close, then resumed into the new server. The stand-in retires its sessions and bots
  first; a fresh ``/connect`` works again on the same ``ws_url`` ~0.2 s later.
* ``crash_restart()`` -- SIGKILL, then start again. No goodbye: the SDK sees the signal
  connection close, emits ``reconnecting``, fails to resume while the child is down, then does
  a full reconnect into a new room of the same name and emits ``reconnected`` (no
  ``disconnected``). Bots reconnect the same way, so sessions survive.
* ``pause()`` (SIGSTOP) -- nothing on the wire; after the SDK's ping timeout (~15 s) clients
  emit ``reconnecting``. ``resume()`` (SIGCONT) lets them come back (``reconnected``; observed
  after a 40 s pause). Useful to exercise a client's "Reconnecting" state.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import aiohttp
from livekit import api

# Finding (and building) the binary lives in livekit_binary.py; re-exported for the callers.
from convai_tui.local.sfu.backend import ExternalLiveKit
from convai_tui.local.sfu.binary import LIVEKIT_SERVER_VERSION as LIVEKIT_SERVER_VERSION
from convai_tui.local.sfu.binary import LiveKitServerNotFound as LiveKitServerNotFound
from convai_tui.local.sfu.binary import find_livekit_server
from convai_tui.local.sfu.config import (
    LiveKitPorts,
    NoFreePorts,
    allocate_ports,
    config_yaml,
    release_ports,
)
from convai_tui.local.sfu.signal_proxy import SignalProxy

_READY_TIMEOUT_S = 20.0
_STOP_GRACE_S = 5.0
_PAUSE_TIMEOUT_S = 5.0


def _every_thread_stopped(pid: int) -> bool:
    """Every thread of `pid` is in the stopped state (Linux's /proc; True where there is none,
    as there is nothing to wait on)."""
    tasks = Path(f"/proc/{pid}/task")
    if not tasks.is_dir():
        return not Path("/proc/self/task").is_dir()
    for stat_file in tasks.glob("*/stat"):
        try:
            text = stat_file.read_text()
        except OSError:  # the thread ended between the listing and the read
            continue
        if text[text.rindex(")") + 2] not in "Tt":
            return False
    return True


class LiveKitServerError(RuntimeError):
    """The livekit-server child failed to start or died."""


class _PortTaken(LiveKitServerError):
    """Another process bound one of the ports picked for the child."""


class LiveKitServerDied(LiveKitServerError):
    """The child exited while serving, without being asked to stop (killed, crashed)."""

    code = "livekit_server_died"

    def __init__(self, pid: int | None, returncode: int, log_tail: str) -> None:
        if returncode < 0:
            how = f"was killed by {signal.Signals(-returncode).name}"
        else:
            how = f"exited with code {returncode}"
        super().__init__(
            f"{self.code}: livekit-server (pid {pid}) {how} while serving.\n"
            f"--- tail of its log ---\n{log_tail}"
        )
        self.returncode = returncode


_Server = TypeVar("_Server", bound="LiveKitServer")


def _replacing_child(
    method: Callable[[_Server], Awaitable[None]],
) -> Callable[[_Server], Coroutine[Any, Any, None]]:
    """Marks a method that stops or replaces the child: an exit during it is expected, so
    ``exited_on_its_own`` does not report it."""

    async def wrapper(server: _Server) -> None:
        server._replacing += 1
        try:
            await method(server)
        finally:
            server._replacing -= 1

    wrapper.__doc__ = method.__doc__
    return wrapper


def _die_with_parent(argv: list[str]) -> list[str]:
    """`argv` run so that the child is SIGKILLed if the stand-in dies without cleaning up (e.g.
    it was SIGKILLed itself), so no SFU is ever orphaned. util-linux's setpriv sets the parent
    death signal and execs: no Python code runs in the forked child, which in a process with
    other threads (LiveKit's FFI, asyncio's workers) can deadlock on a lock held at the fork."""
    setpriv = shutil.which("setpriv") if sys.platform.startswith("linux") else None
    return [setpriv, "--pdeathsig", "KILL", "--", *argv] if setpriv else argv


class LiveKitServer:
    """A livekit-server child bound to loopback with per-run keys. Never outlives its owner."""

    def __init__(
        self, binary: Path | None = None, *, log_level: str = "info", host: str = "127.0.0.1"
    ) -> None:
        """``host`` (an IPv4 address of this machine) is where the SFU binds and what it
        advertises: signal port, ICE candidates (rtc.node_ip) and TURN. Loopback by default;
        another address only for network-fault tests (a stand-in inside a network namespace)."""
        self._binary = binary
        self._log_level = log_level
        self._host = host
        self._api_key = "lk_" + secrets.token_hex(6)
        # livekit-server refuses secrets shorter than 32 characters.
        self._api_secret = secrets.token_urlsafe(36)
        self._ports = LiveKitPorts()
        self._proxy: SignalProxy | None = None
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: object | None = None
        self._paused = False
        self._replacing = 0
        """> 0 while start/stop/restart is running (see ``_replacing_child``)."""

    # -- properties ---------------------------------------------------------------------------
    @property
    def host(self) -> str:
        return self._host

    @property
    def ws_url(self) -> str:
        return f"ws://{self._host}:{self._ports.signal}"

    @property
    def http_url(self) -> str:
        return f"http://{self._host}:{self._ports.signal}"

    @property
    def api_key(self) -> str:
        return self._api_key

    @property
    def api_secret(self) -> str:
        return self._api_secret

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def log_path(self) -> Path | None:
        return Path(self._tempdir.name) / "livekit-server.log" if self._tempdir else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # -- lifecycle ----------------------------------------------------------------------------
    async def __aenter__(self) -> LiveKitServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
        self.cleanup()

    def _allocate_ports(self) -> None:
        try:
            self._ports = allocate_ports()
        except NoFreePorts as exc:
            raise LiveKitServerError(str(exc)) from exc

    def _config_text(self) -> str:
        return config_yaml(
            host=self._host,
            ports=self._ports,
            api_key=self._api_key,
            api_secret=self._api_secret,
            log_level=self._log_level,
        )

    @_replacing_child
    async def start(self) -> None:
        """Start the child (first call picks ports and keys) and wait until it answers OK."""
        if self.running:
            return
        binary = self._binary or find_livekit_server()
        if self._tempdir is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="convai-standin-lk-")
        first_start = not self._ports.allocated
        for attempt in range(3):
            if first_start:
                self._allocate_ports()
            self._spawn_child(binary, Path(self._tempdir.name))
            self._paused = False
            try:
                await self._wait_ready()
                await self._start_proxy()
                return
            except LiveKitServerError as exc:
                await self.stop()
                # Another process bound one of our ports between the check and the bind (its
                # picks are not in this process's _handed_out): pick new ones and try again.
                taken = isinstance(exc, _PortTaken) or "address already in use" in self.log_tail(5)
                if not first_start or attempt == 2 or not taken:
                    raise
            except BaseException:
                await self.stop()
                raise

    def _spawn_child(self, binary: Path, workdir: Path) -> None:
        # Synchronous on purpose: fork/exec is quick, and a plain Popen (unlike an asyncio
        # subprocess) is not tied to one event loop, so any loop -- or none -- can stop it.
        config_path = workdir / "livekit.yaml"
        config_path.write_text(self._config_text(), encoding="utf-8")
        config_path.chmod(0o600)
        log_file = open(workdir / "livekit-server.log", "ab")  # closed in _close_log()
        self._log_file = log_file
        self._process = subprocess.Popen(
            _die_with_parent([str(binary), "--config", str(config_path)]),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            # Own process group: a Ctrl-C in the terminal reaches only us, and we stop the
            # child in order (bots leave first) instead of it dying underneath them.
            start_new_session=True,
        )

    async def _start_proxy(self) -> None:
        if self._proxy is None:
            self._proxy = SignalProxy(self._ports.signal, self._ports.internal, host=self._host)
        try:
            await self._proxy.start()
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise _PortTaken(f"signal port {self._ports.signal} is taken: {exc}") from exc

    async def _wait_ready(self) -> None:
        """Until the child answers an authenticated API call. A bare "OK" on the port is not
        enough: if another process's livekit-server holds the port (ours then fails to bind
        it), that one answers too, but it refuses our key."""
        deadline = time.monotonic() + _READY_TIMEOUT_S
        timeout = aiohttp.ClientTimeout(total=1.0)
        list_rooms = (
            f"http://{self._host}:{self._ports.internal}/twirp/livekit.RoomService/ListRooms"
        )
        token = (
            api.AccessToken(self._api_key, self._api_secret)
            .with_grants(api.VideoGrants(room_list=True))
            .to_jwt()
        )
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while True:
                process = self._process
                if process is None or process.poll() is not None:
                    code = process.returncode if process else None
                    raise LiveKitServerError(
                        f"livekit-server exited with code {code} during start-up.\n"
                        f"--- tail of {self.log_path} ---\n{self.log_tail()}"
                    )
                with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                    async with http.post(list_rooms, json={}, headers=headers) as response:
                        if response.status == 200:
                            return
                if time.monotonic() > deadline:
                    raise LiveKitServerError(
                        f"livekit-server did not answer on {self.http_url} within "
                        f"{_READY_TIMEOUT_S:.0f} s.\n--- tail of {self.log_path} ---\n"
                        f"{self.log_tail()}"
                    )
                await asyncio.sleep(0.05)

    def log_tail(self, lines: int = 30) -> str:
        path = self.log_path
        if path is None or not path.exists():
            return "(no log)"
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:])

    @_replacing_child
    async def stop(self) -> None:
        """Stop the child (SIGTERM, SIGKILL after a grace period; always reaped) and the proxy.
        Safe to call twice."""
        try:
            await self._stop_child()
        finally:
            proxy, self._proxy = self._proxy, None
            if proxy is not None:
                await proxy.stop()

    async def _stop_child(self) -> None:
        process = self._process
        if process is not None:
            try:
                await asyncio.shield(asyncio.to_thread(self._terminate, process))
            finally:
                # Reached even if we are cancelled: the thread above still finishes the reap,
                # and this synchronous fallback makes sure nothing is left behind.
                self._terminate(process)
                self._process = None
        self._close_log()

    def _terminate(self, process: subprocess.Popen[bytes]) -> None:
        if process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            if self._paused:
                # A stopped process queues SIGTERM until it is continued.
                process.send_signal(signal.SIGCONT)
            process.terminate()
        # The first SIGTERM only starts a drain that waits for every participant to leave;
        # a second one forces the close (rooms closed, participants told SERVER_SHUTDOWN).
        try:
            process.wait(timeout=0.1)
            return
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        try:
            process.wait(timeout=_STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            process.wait()

    def _close_log(self) -> None:
        log_file = self._log_file
        if log_file is not None:
            with contextlib.suppress(Exception):
                log_file.close()  # type: ignore[attr-defined]
            self._log_file = None

    def exited_on_its_own(self) -> LiveKitServerDied | None:
        """The child's death, if it exited while nobody was stopping or restarting it (None
        while it runs or is paused, and before the first start)."""
        process = self._process
        if self._replacing or process is None or process.poll() is None:
            return None
        return LiveKitServerDied(process.pid, process.returncode, self.log_tail(10))

    def cleanup(self) -> None:
        """Remove the temp dir (config with the secret, and the log) and give the ports back."""
        if self.running:
            return
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None
        if self._ports.allocated:
            release_ports(self._ports)
            self._ports = LiveKitPorts()

    @_replacing_child
    async def restart(self) -> None:
        """Stop and start again on the same ports with the same keys; clients are told
        SERVER_SHUTDOWN (by the signal proxy, see signal_proxy.py)."""
        if self._proxy is not None:
            await self._proxy.send_leave_to_all()
        await self._stop_child()
        await self.start()

    @_replacing_child
    async def crash_restart(self) -> None:
        """SIGKILL and start again on the same ports: no goodbye, clients try to resume."""
        process = self._process
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await asyncio.to_thread(process.wait)
            self._process = None
        self._close_log()
        await self.start()  # the proxy keeps listening throughout: clients see the drop only

    async def pause(self) -> None:
        """SIGSTOP the child and wait until it has stopped: the SFU freezes without closing
        any socket. kill() only queues the stop; until one of the child's threads takes it the
        others go on serving (up to ~80 ms on a loaded 2-core machine)."""
        process = self._process
        if process is None or not self.running:
            raise LiveKitServerError("livekit-server is not running")
        os.kill(process.pid, signal.SIGSTOP)
        self._paused = True
        deadline = time.monotonic() + _PAUSE_TIMEOUT_S
        while not _every_thread_stopped(process.pid):
            if process.poll() is not None or time.monotonic() > deadline:
                raise LiveKitServerError(
                    f"livekit-server (pid {process.pid}) did not stop within "
                    f"{_PAUSE_TIMEOUT_S:.0f} s of SIGSTOP"
                )
            await asyncio.sleep(0.002)

    async def resume(self) -> None:
        if self._process is None:
            raise LiveKitServerError("livekit-server is not running")
        os.kill(self._process.pid, signal.SIGCONT)
        self._paused = False


def livekit_from_environment(host: str = "127.0.0.1") -> LiveKitServer | ExternalLiveKit:
    """An external LiveKit if all three LIVEKIT_* variables are set, else a local child bound
    to ``host``."""
    return ExternalLiveKit.from_env() or LiveKitServer(host=host)
