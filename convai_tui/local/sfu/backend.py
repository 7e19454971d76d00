"""What the stand-in needs from a LiveKit deployment, and the one it does not own.

``LiveKitBackend`` is satisfied by the child ``LiveKitServer`` (livekit_server.py) and by
``ExternalLiveKit``: a deployment named by LIVEKIT_URL / LIVEKIT_API_KEY / LIVEKIT_API_SECRET,
which serves sessions but refuses to be restarted, paused or resumed by the stand-in.
"""

from __future__ import annotations

import os
from typing import Protocol


class LiveKitControlUnsupported(RuntimeError):
    """restart/pause/resume asked of a LiveKit we do not own (an external one)."""


class LiveKitBackend(Protocol):
    """What the stand-in needs from a LiveKit deployment, child or external."""

    @property
    def ws_url(self) -> str: ...
    @property
    def http_url(self) -> str: ...
    @property
    def api_key(self) -> str: ...
    @property
    def api_secret(self) -> str: ...
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def restart(self) -> None: ...
    async def pause(self) -> None: ...
    async def resume(self) -> None: ...


class ExternalLiveKit:
    """A LiveKit deployment we do not own (LIVEKIT_URL / LIVEKIT_API_KEY / LIVEKIT_API_SECRET)."""

    def __init__(self, url: str, api_key: str, api_secret: str) -> None:
        self._url = url.rstrip("/")
        self._api_key = api_key
        self._api_secret = api_secret

    @classmethod
    def from_env(cls) -> ExternalLiveKit | None:
        url = os.environ.get("LIVEKIT_URL")
        key = os.environ.get("LIVEKIT_API_KEY")
        secret = os.environ.get("LIVEKIT_API_SECRET")
        if url and key and secret:
            return cls(url, key, secret)
        return None

    @property
    def ws_url(self) -> str:
        if self._url.startswith("http"):
            return "ws" + self._url[len("http") :]
        return self._url

    @property
    def http_url(self) -> str:
        if self._url.startswith("ws"):
            return "http" + self._url[len("ws") :]
        return self._url

    @property
    def api_key(self) -> str:
        return self._api_key

    @property
    def api_secret(self) -> str:
        return self._api_secret

    @property
    def pid(self) -> int | None:
        return None

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def _unsupported(self, action: str) -> None:
        raise LiveKitControlUnsupported(
            f"cannot {action} an external LiveKit ({self.ws_url}); "
            "unset LIVEKIT_URL to let the stand-in run its own livekit-server"
        )

    async def restart(self) -> None:
        await self._unsupported("restart")

    async def pause(self) -> None:
        await self._unsupported("pause")

    async def resume(self) -> None:
        await self._unsupported("resume")
