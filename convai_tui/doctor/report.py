"""`convai-tui doctor`'s vocabulary: a check's result, a skipped check, the report, what to
check (the options), and the fixes from shared/seeds/002 that failed checks point to."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CHECK_TIMEOUT_S = 5.0
JOIN_TIMEOUT_S = 10.0

# Fixes from seeds/002's troubleshooting table and firewall checklist.
FIX_CONVAI_TCP = (
    "Allow outbound TCP 443 to https://live.convai.com and api.convai.com "
    "(seeds/002 firewall checklist, step 1)."
)
FIX_LIVEKIT_TCP = (
    "Allow outbound TCP 443 to the room_url host, *.livekit.cloud and *.turn.livekit.cloud."
)
FIX_LIVEKIT_MEDIA = (
    "UDP media or TURN fallback path blocked: allow UDP 50000-60000, UDP 3478 "
    "to *.host.livekit.cloud, and TCP 443 to *.turn.livekit.cloud."
)
FIX_TLS_INSPECTION = (
    "Exclude Convai and LiveKit hostnames from TLS inspection on your proxy "
    "(man-in-the-middle decryption of HTTPS/WSS breaks LiveKit signalling)."
)
FIX_DNS = "Check DNS on this machine (resolv.conf, VPN, proxy settings) and the host name."


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the checklist: `fix` says what to do when `ok` is False (or may be)."""

    name: str
    ok: bool
    detail: str
    fix: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "fix": self.fix}


@dataclass(frozen=True, slots=True)
class Skipped:
    """A check that was not run, and why (never counted as a pass or a failure)."""

    name: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "reason": self.reason}


@dataclass
class DoctorReport:
    checks: list[Check] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "checks": [c.to_json() for c in self.checks],
            "skipped": [s.to_json() for s in self.skipped],
        }


@dataclass(frozen=True, slots=True)
class DoctorOptions:
    """What to check. With `livekit_url` and `token` only the LiveKit connection test runs."""

    connect_url: str = "https://live.convai.com"
    api_key: str = ""
    character_id: str = ""
    rest_url: str | None = None
    livekit_url: str | None = None
    token: str | None = field(default=None, repr=False)
    timeout_s: float = CHECK_TIMEOUT_S
    join_timeout_s: float = JOIN_TIMEOUT_S
    insecure_http: bool = False
    require_audio: bool = False
    audio: bool = True
