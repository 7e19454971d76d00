"""`convai-tui doctor`: the network and audio checklist of shared/seeds/002, run for real.

Each check is an async function returning a `Check(name, ok, detail, fix)`; `run_doctor`
composes them in order. Every check is bounded in time. Hosts other than the configured ones
are never contacted: the REST host is checked only when it belongs to the configured service
(Convai's cloud, or an explicit --rest-url). Audio checks are advisory unless `require_audio`:
text-only is a supported way to run a session, so "no devices" passes with a note.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from convai_tui.core.connect_api import ConnectApiClient, ConnectRequest, ConnectResponse
from convai_tui.core.errors import ConvaiError, lookup
from convai_tui.core.events import ParticipantInfo
from convai_tui.core.redact import REDACTOR, redact
from convai_tui.core.session import SessionSettings, is_loopback, validate_settings
from convai_tui.core.transport import RoomTransport, TransportCallbacks

DEFAULT_REST_URL = "https://api.convai.com"
CHECK_TIMEOUT_S = 5.0
JOIN_TIMEOUT_S = 10.0
ICE_STATS_WAIT_S = 3.0

# Fixes from seeds/002's troubleshooting table and firewall checklist.
FIX_CONVAI_TCP = ("Allow outbound TCP 443 to https://live.convai.com and api.convai.com "
                  "(seeds/002 firewall checklist, step 1).")
FIX_LIVEKIT_TCP = ("Allow outbound TCP 443 to the room_url host, *.livekit.cloud and "
                   "*.turn.livekit.cloud.")
FIX_LIVEKIT_MEDIA = ("UDP media or TURN fallback path blocked: allow UDP 50000-60000, UDP 3478 "
                     "to *.host.livekit.cloud, and TCP 443 to *.turn.livekit.cloud.")
FIX_TLS_INSPECTION = ("Exclude Convai and LiveKit hostnames from TLS inspection on your proxy "
                      "(man-in-the-middle decryption of HTTPS/WSS breaks LiveKit signalling).")
FIX_DNS = "Check DNS on this machine (resolv.conf, VPN, proxy settings) and the host name."

# Issuer names of products that re-sign TLS traffic (corporate proxies, antivirus web shields).
TLS_INSPECTION_ISSUERS = (
    "zscaler", "netskope", "fortinet", "fortigate", "palo alto", "blue coat", "bluecoat",
    "symantec web", "cisco umbrella", "sophos", "mcafee web gateway", "forcepoint", "websense",
    "kaspersky", "avast", "avg web", "eset ssl filter", "bitdefender", "checkpoint",
    "check point", "barracuda", "squid", "mitmproxy", "charles proxy", "fiddler",
)


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
        return {"checks": [c.to_json() for c in self.checks],
                "skipped": [s.to_json() for s in self.skipped]}


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


# --- URLs ----------------------------------------------------------------------------------------


def _host_port(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    port = parts.port or (443 if scheme in ("https", "wss") else 80)
    return host, port, scheme


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def rest_url_for(options: DoctorOptions) -> str | None:
    """The REST host to check: an explicit --rest-url, else api.convai.com when the connect URL
    is Convai's own cloud; None for a local stand-in or another service (not configured)."""
    if options.rest_url:
        return options.rest_url
    host = (urlsplit(options.connect_url).hostname or "").lower()
    if host == "convai.com" or host.endswith(".convai.com"):
        return DEFAULT_REST_URL
    return None


def _signal_http_url(room_url: str) -> str:
    parts = urlsplit(room_url)
    scheme = {"wss": "https", "ws": "http"}.get(parts.scheme.lower(), parts.scheme.lower())
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


# --- host checks: DNS, TCP, TLS --------------------------------------------------------------------


async def check_dns(prefix: str, url: str, timeout_s: float = CHECK_TIMEOUT_S) -> Check:
    name = f"{prefix}.dns"
    host, port, _ = _host_port(url)
    if not host:
        return Check(name, False, f"{url!r} has no host name.", "Fix the URL.")
    if _is_ip(host):
        return Check(name, True, f"{host} is an IP address: nothing to resolve.")
    try:
        async with asyncio.timeout(timeout_s):
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM)
    except TimeoutError:
        return Check(name, False, f"Resolving {host} took longer than {timeout_s:g} s.", FIX_DNS)
    except OSError as exc:
        return Check(name, False, f"{host} does not resolve: {exc}.", FIX_DNS)
    addresses = sorted({str(info[4][0]) for info in infos})
    return Check(name, True, f"{host} resolves to {', '.join(addresses[:4])}.")


async def check_tcp(prefix: str, url: str, timeout_s: float = CHECK_TIMEOUT_S,
                    fix: str = FIX_CONVAI_TCP) -> Check:
    name = f"{prefix}.tcp"
    host, port, _ = _host_port(url)
    if is_loopback(host):
        fix = (f"Nothing answers on {host}:{port}: start the service (the local stand-in: "
               "`convai-tui local-server`) or fix the URL.")
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout_s):
            _, writer = await asyncio.open_connection(host.strip("[]"), port)
    except TimeoutError:
        return Check(name, False, f"No answer from {host}:{port} within {timeout_s:g} s "
                                  "(a firewall dropping packets?).", fix)
    except OSError as exc:
        reason = "connection refused" if isinstance(exc, ConnectionRefusedError) else str(exc)
        return Check(name, False, f"Cannot open TCP {host}:{port}: {reason}.", fix)
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
    return Check(name, True, f"TCP {host}:{port} open "
                             f"({(time.monotonic() - started) * 1000:.0f} ms).")


def _issuer_text(cert: dict[str, Any]) -> str:
    fields: dict[str, str] = {}
    for rdn in cert.get("issuer", ()):
        for key, value in rdn:
            fields.setdefault(str(key), str(value))
    parts = [fields.get("organizationName"), fields.get("commonName")]
    return " / ".join(p for p in parts if p) or "an unknown issuer"


def inspection_hint(issuer: str) -> str | None:
    """A TLS-inspection warning when the issuer names a product that re-signs traffic."""
    lowered = issuer.lower()
    product = next((p for p in TLS_INSPECTION_ISSUERS if p in lowered), None)
    if product is None:
        return None
    return (f"the certificate is issued by {issuer}, which looks like a TLS-inspecting proxy "
            "or antivirus, not a public CA")


async def _handshake(host: str, port: int, context: ssl.SSLContext,
                     timeout_s: float) -> dict[str, Any]:
    async with asyncio.timeout(timeout_s):
        _, writer = await asyncio.open_connection(host.strip("[]"), port, ssl=context,
                                                  server_hostname=host)
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        cert = ssl_object.getpeercert() if ssl_object else None
        version = ssl_object.version() if ssl_object else None
        return {"cert": cert or {}, "version": version}
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def check_tls(prefix: str, url: str, timeout_s: float = CHECK_TIMEOUT_S,
                    insecure_http: bool = False) -> Check:
    """A verified TLS handshake with the CA bundle the client uses (httpx's), and a hint when
    the chain looks re-signed by a TLS-inspecting proxy."""
    name = f"{prefix}.tls"
    host, port, scheme = _host_port(url)
    if scheme in ("http", "ws"):
        if is_loopback(host):
            return Check(name, True, f"plain http on loopback ({host}:{port}): no TLS to check.")
        return Check(name, insecure_http, f"plain {scheme}:// to {host}: the traffic is not "
                                          "encrypted" + (" (allowed by --insecure-http)."
                                                         if insecure_http else "."),
                     "Use an https:// URL.")
    context = httpx.create_ssl_context()
    try:
        result = await _handshake(host, port, context, timeout_s)
    except ssl.SSLCertVerificationError as exc:
        reason = exc.verify_message or str(exc)
        hint = await _system_store_hint(host, port, timeout_s)
        detail = f"The certificate of {host} is not trusted ({reason})."
        if hint:
            detail += f" TLS inspection likely: {hint}."
        else:
            detail += (" If this network has a proxy that inspects HTTPS, it may be re-signing "
                       "the traffic.")
        return Check(name, False, detail, FIX_TLS_INSPECTION)
    except TimeoutError:
        return Check(name, False, f"The TLS handshake with {host}:{port} took longer than "
                                  f"{timeout_s:g} s.", FIX_CONVAI_TCP)
    except (ssl.SSLError, OSError) as exc:
        return Check(name, False, f"TLS with {host}:{port} failed: {exc}. A proxy may be "
                                  "interfering with HTTPS.", FIX_TLS_INSPECTION)
    issuer = _issuer_text(result["cert"])
    hint = inspection_hint(issuer)
    if hint:
        return Check(name, False, f"{result['version']} handshake verified, but {hint}.",
                     FIX_TLS_INSPECTION)
    expires = result["cert"].get("notAfter", "?")
    return Check(name, True, f"{result['version']}, certificate verified, issued by {issuer}, "
                             f"valid until {expires}.")


async def _system_store_hint(host: str, port: int, timeout_s: float) -> str | None:
    """When the public CA bundle rejects the chain but this machine's own store accepts it, a
    locally installed CA (a corporate proxy's) signed it."""
    try:
        result = await _handshake(host, port, ssl.create_default_context(), timeout_s)
    except Exception:
        return None
    return (f"the chain is signed by {_issuer_text(result['cert'])}, a CA trusted by this "
            "machine but not a public CA")


async def host_checks(prefix: str, url: str, options: DoctorOptions,
                      report: DoctorReport, tcp_fix: str = FIX_CONVAI_TCP) -> bool:
    """DNS, then TCP, then TLS for one URL; later steps are skipped when an earlier one fails."""
    dns = await check_dns(prefix, url, options.timeout_s)
    report.checks.append(dns)
    if not dns.ok:
        report.skipped += [Skipped(f"{prefix}.tcp", "DNS failed"),
                           Skipped(f"{prefix}.tls", "DNS failed")]
        return False
    tcp = await check_tcp(prefix, url, options.timeout_s, tcp_fix)
    report.checks.append(tcp)
    if not tcp.ok:
        report.skipped.append(Skipped(f"{prefix}.tls", "TCP failed"))
        return False
    tls = await check_tls(prefix, url, options.timeout_s, options.insecure_http)
    report.checks.append(tls)
    return tls.ok


# --- the connect API probe ------------------------------------------------------------------------


def _fix_for(code: str) -> str:
    fix = lookup(code).fix
    if code in ("connection.network_error", "connection.timeout"):
        fix = f"{fix} {FIX_CONVAI_TCP}"
    return fix


async def probe_connect(options: DoctorOptions,
                        transport: httpx.AsyncBaseTransport | None = None,
                        ) -> tuple[Check, ConnectResponse | None, ConnectApiClient | None]:
    """One authenticated /connect; the caller releases the session with `release_session`."""
    name = "connect.api"
    settings = SessionSettings(connect_url=options.connect_url, api_key=options.api_key,
                               character_id=options.character_id,
                               insecure_http=options.insecure_http)
    config_error = validate_settings(settings)
    if config_error is not None:
        return (Check(name, False, f"{config_error.code}: {config_error.message}",
                      _fix_for(config_error.code)), None, None)
    client = ConnectApiClient(options.connect_url, options.api_key,
                              timeout_s=options.timeout_s, transport=transport)
    try:
        response = await client.connect(ConnectRequest(character_id=options.character_id))
    except ConvaiError as exc:
        await client.aclose()
        err = exc.error
        return Check(name, False, f"{err.code}: {err.message}", _fix_for(err.code)), None, None
    detail = (f"POST {client.connect_url}/connect answered 200 in {response.elapsed_ms:.0f} ms: "
              f"session {response.session_id}, room {response.room_name} at "
              f"{response.room_url}.")
    return Check(name, True, detail), response, client


async def release_session(client: ConnectApiClient, session_id: str) -> str:
    try:
        released = await client.disconnect(session_id) if session_id else False
    finally:
        await client.aclose()
    return ("Session released with POST /disconnect." if released
            else "POST /disconnect did not answer 200 (the session times out on its own).")


# --- LiveKit ------------------------------------------------------------------------------------


async def check_signal(room_url: str, token: str, timeout_s: float = CHECK_TIMEOUT_S,
                       transport: httpx.AsyncBaseTransport | None = None) -> Check:
    """LiveKit signalling: the server's token validation endpoint over the room_url's scheme
    (TLS verified for wss), which proves DNS, TCP, TLS and the signalling service at once."""
    name = "livekit.signal"
    REDACTOR.add_secret(token)
    scheme = urlsplit(room_url).scheme.lower()
    if scheme not in ("ws", "wss", "http", "https"):
        return Check(name, False, f"room_url {room_url!r} is not a ws(s):// URL.",
                     lookup("transport.livekit_error").fix)
    url = _signal_http_url(room_url) + "/rtc/validate"
    started = time.monotonic()
    try:
        async with httpx.AsyncClient(timeout=timeout_s, transport=transport) as http:
            response = await http.get(url, params={"access_token": token})
    except httpx.ConnectError as exc:
        text = redact(str(exc))
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate" in text.lower():
            return Check(name, False, f"The signalling server's certificate is not trusted "
                                      f"({text}); TLS inspection is likely.", FIX_TLS_INSPECTION)
        return Check(name, False, f"Cannot reach the signalling server at {room_url}: {text}.",
                     FIX_LIVEKIT_TCP)
    except httpx.TimeoutException:
        return Check(name, False, f"No answer from {room_url} within {timeout_s:g} s.",
                     FIX_LIVEKIT_TCP)
    except httpx.HTTPError as exc:
        return Check(name, False, f"Signalling request to {room_url} failed: "
                                  f"{redact(str(exc))}.", FIX_LIVEKIT_TCP)
    elapsed = (time.monotonic() - started) * 1000
    body = redact(response.text.strip())[:200]
    if response.status_code == 200:
        return Check(name, True, f"{scheme}:// signalling at {room_url} answered and accepted "
                                 f"the room token ({elapsed:.0f} ms).")
    if response.status_code in (401, 403):
        return Check(name, False, f"The signalling server rejected the room token "
                                  f"(HTTP {response.status_code}: {body}).",
                     lookup("transport.join_failure").fix)
    return Check(name, False, f"{room_url} answered HTTP {response.status_code} ({body}): not "
                              "a LiveKit signalling endpoint, or a proxy in the way.",
                 FIX_LIVEKIT_TCP)


def _noop(*_: object) -> None:
    return None


def describe_ice(stats: Any) -> str | None:
    """'udp', 'tcp' or 'relay (turn over udp|tcp|tls)' for the selected candidate pair of any
    peer connection in a `livekit.rtc.RtcStats`; None when there is no selected pair yet."""
    from livekit.rtc import stats as rtc_stats

    for reports in (stats.publisher_stats, stats.subscriber_stats):
        pairs: dict[str, Any] = {}
        locals_: dict[str, Any] = {}
        selected: list[str] = []
        for report in reports:
            which = report.WhichOneof("stats")
            if which == "candidate_pair":
                pairs[report.candidate_pair.rtc.id] = report.candidate_pair.candidate_pair
            elif which == "local_candidate":
                locals_[report.local_candidate.rtc.id] = report.local_candidate.candidate
            elif which == "transport":
                pair_id = report.transport.transport.selected_candidate_pair_id
                if pair_id:
                    selected.append(pair_id)
        if not selected:
            selected = [pid for pid, pair in pairs.items() if pair.nominated]
        for pair_id in selected:
            pair = pairs.get(pair_id)
            candidate = locals_.get(pair.local_candidate_id) if pair is not None else None
            if candidate is None:
                continue
            if candidate.candidate_type == rtc_stats.RELAY:
                relay = {rtc_stats.TRANSPORT_UDP: "udp", rtc_stats.TRANSPORT_TCP: "tcp",
                         rtc_stats.TRANSPORT_TLS: "tls"}.get(candidate.relay_protocol, "?")
                return f"relay (TURN over {relay})"
            return (candidate.protocol or "udp").lower()
    return None


async def check_webrtc(room_url: str, token: str, options: DoctorOptions,
                       transport_factory: Callable[[str, TransportCallbacks], RoomTransport]
                       = RoomTransport) -> Check:
    """Join the room for real, reach Connected, and report the ICE path (UDP, TCP or TURN)."""
    name = "livekit.webrtc"
    REDACTOR.add_secret(token)

    def on_participant(_change: str, _info: ParticipantInfo) -> None:
        return None

    callbacks = TransportCallbacks(on_data=_noop, on_participant=on_participant,
                                   on_disconnected=_noop, on_reconnecting=_noop,
                                   on_reconnected=_noop)
    room = transport_factory(options.character_id or "convai-tui-doctor", callbacks)
    try:
        join_ms = await room.join(room_url, token, options.join_timeout_s)
    except ConvaiError as exc:
        err = exc.error
        return Check(name, False, f"{err.code}: {err.message}",
                     f"{lookup(err.code).fix} {FIX_LIVEKIT_MEDIA}")
    try:
        ice = await _wait_for_ice(room)
    finally:
        await room.leave()
    if ice is None:
        return Check(name, True, f"Joined the room and reached Connected in {join_ms:.0f} ms; "
                                 "the ICE path was not reported yet.")
    hint = ""
    if ice.startswith("relay"):
        hint = (" Direct media is blocked; TURN works but adds latency (sessions warn "
                "transport.link_degraded).")
    elif ice == "tcp":
        hint = " UDP looks blocked; media falls back to TCP."
    return Check(name, True, f"Joined the room and reached Connected in {join_ms:.0f} ms; "
                             f"ICE uses {ice}.{hint}",
                 lookup("transport.link_degraded").fix if hint else "")


async def _wait_for_ice(room: RoomTransport) -> str | None:
    deadline = time.monotonic() + ICE_STATS_WAIT_S
    while time.monotonic() < deadline:
        if not room.room.isconnected():
            return None
        try:
            stats = await asyncio.wait_for(room.room.get_rtc_stats(), 2)
            ice = describe_ice(stats)
        except Exception:  # stats are best effort: the join itself is what the check proves
            ice = None
        if ice is not None:
            return ice
        await asyncio.sleep(0.2)
    return None


async def livekit_checks(room_url: str, token: str, options: DoctorOptions,
                         report: DoctorReport) -> None:
    signal_check = await check_signal(room_url, token, options.timeout_s)
    report.checks.append(signal_check)
    if not signal_check.ok:
        report.skipped.append(Skipped("livekit.webrtc", "signalling failed"))
        return
    report.checks.append(await check_webrtc(room_url, token, options))


# --- audio --------------------------------------------------------------------------------------


def audio_checks(options: DoctorOptions,
                 list_devices: Callable[[], Sequence[Any]] | None = None) -> list[Check]:
    """Default microphone and speaker. Advisory (ok with a note) unless `require_audio`."""
    if list_devices is None:
        from convai_tui.audio import list_devices as real_list_devices

        list_devices = real_list_devices
    from convai_tui.audio import AudioError

    mic_fix = lookup("audio.mic_unavailable").fix
    speaker_fix = lookup("audio.speaker_unavailable").fix
    try:
        devices = list(list_devices())
        problem = None
    except AudioError as exc:
        devices, problem = [], str(exc)
    out: list[Check] = []
    for kind, name, fix in (("input", "audio.input", mic_fix),
                            ("output", "audio.output", speaker_fix)):
        usable = [d for d in devices if d.has(kind)]
        default = next((d for d in usable
                        if (d.is_default_input if kind == "input" else d.is_default_output)),
                       None)
        if default is not None:
            out.append(Check(name, True, f"default {kind}: {default.name} ({default.host_api}); "
                                         f"{len(usable)} {kind} device(s)."))
        elif usable:
            out.append(Check(name, True, f"no default {kind} device, but {len(usable)} usable: "
                                         f"pass --{kind}-device ({usable[0].name}).", fix))
        else:
            why = problem or f"no {kind} devices found"
            if options.require_audio:
                out.append(Check(name, False, f"{why}.", fix))
            else:
                mode = "text-only" if kind == "input" else "transcripts only, no voice"
                out.append(Check(name, True, f"{why}: sessions run {mode} (advisory; "
                                             "--require-audio makes this fail).", fix))
    return out


# --- composition --------------------------------------------------------------------------------


async def run_doctor(options: DoctorOptions, *,
                     list_devices: Callable[[], Sequence[Any]] | None = None) -> DoctorReport:
    """Run the checklist in order; never raises for a network problem (it is a failed check)."""
    report = DoctorReport()
    if options.livekit_url and options.token:
        await livekit_checks(options.livekit_url, options.token, options, report)
        return report
    if options.api_key:
        REDACTOR.add_secret(options.api_key)
    await host_checks("connect", options.connect_url, options, report)
    rest = rest_url_for(options)
    if rest is None:
        report.skipped.append(Skipped("rest", "the connect URL is not Convai's cloud; pass "
                                              "--rest-url to check a REST host"))
    else:
        await host_checks("rest", rest, options, report)
    probe, response, client = await probe_connect(options)
    if response is None or client is None:
        report.checks.append(probe)
        report.skipped.append(Skipped("livekit", "needs the room details from /connect"))
    else:
        index = len(report.checks)
        try:
            await livekit_checks(response.room_url, response.token, options, report)
        finally:
            released = await release_session(client, response.session_id)
        report.checks.insert(index, Check(probe.name, probe.ok, f"{probe.detail} {released}",
                                          probe.fix))
    if options.audio:
        report.checks.extend(await asyncio.to_thread(audio_checks, options, list_devices))
    return report


def checks_runner(options: DoctorOptions) -> Callable[[], Awaitable[list[Check]]]:
    """What the TUI's Doctor screen calls: the same checks, as a plain list."""

    async def run() -> list[Check]:
        return (await run_doctor(options)).checks

    return run


def format_report(report: DoctorReport) -> str:
    """The human form: one line per check, the fix indented under each failure."""
    lines = []
    for check in report.checks:
        lines.append(f"{'ok  ' if check.ok else 'FAIL'}  {check.name:<16} {check.detail}")
        if check.fix and not check.ok:
            lines.append(f"      {'':<16} fix: {check.fix}")
    for skipped in report.skipped:
        lines.append(f"skip  {skipped.name:<16} {skipped.reason}")
    failed = sum(1 for c in report.checks if not c.ok)
    lines.append(f"{len(report.checks) - failed}/{len(report.checks)} checks passed"
                 + ("" if not failed else f"; {failed} failed"))
    return "\n".join(lines)
