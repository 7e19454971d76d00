"""Doctor checks without a stand-in: each check's failure mapping, and the composition."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from livekit.rtc import stats as rtc_stats

from convai_tui.audio import AudioError, DeviceInfo
from convai_tui.core.errors.error import lookup
from convai_tui.doctor.checks import (
    audio_checks,
    format_report,
    probe_connect,
    rest_host_to_check,
    run_doctor,
)
from convai_tui.doctor.hosts import check_dns, check_tcp, check_tls, inspection_hint
from convai_tui.doctor.livekit import check_signal, describe_ice
from convai_tui.doctor.report import (
    FIX_LIVEKIT_TCP,
    FIX_TLS_INSPECTION,
    Check,
    DoctorOptions,
    DoctorReport,
    Skipped,
)

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkb2N0b3ItdGVzdCJ9.c2lnbmF0dXJlLXNlY3JldA"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def no_devices() -> list[DeviceInfo]:
    return []


def device(
    name: str, *, inputs: int, outputs: int, default_in: bool = False, default_out: bool = False
) -> DeviceInfo:
    return DeviceInfo(0, name, "ALSA", inputs, outputs, 48000.0, default_in, default_out)


def options(**kw: Any) -> DoctorOptions:
    base: dict[str, Any] = {
        "connect_url": f"http://127.0.0.1:{closed_port()}",
        "api_key": "doctor-test-key",
        "character_id": "char-1",
        "timeout_s": 2.0,
    }
    base.update(kw)
    return DoctorOptions(**base)


# --- composition ---------------------------------------------------------------------------------


async def test_closed_port_fails_the_connect_check_by_name() -> None:
    report = await run_doctor(options(), list_devices=no_devices)
    by_name = {c.name: c for c in report.checks}
    assert not report.ok
    assert by_name["connect.dns"].ok
    assert not by_name["connect.tcp"].ok
    assert "connection refused" in by_name["connect.tcp"].detail
    assert "local-server" in by_name["connect.tcp"].fix
    api = by_name["connect.api"]
    assert not api.ok and api.detail.startswith("connection.network_error")
    assert lookup("connection.network_error").fix in api.fix
    assert "livekit" in {s.name for s in report.skipped}
    assert "connect.tls" in {s.name for s in report.skipped}
    assert not any(c.name.startswith("livekit.") for c in report.checks)


async def test_livekit_only_mode_runs_only_the_livekit_checks() -> None:
    opts = options(livekit_url=f"ws://127.0.0.1:{closed_port()}", token=TOKEN)
    report = await run_doctor(opts, list_devices=no_devices)
    assert [c.name for c in report.checks] == ["livekit.signal"]
    assert not report.checks[0].ok
    assert report.checks[0].fix == FIX_LIVEKIT_TCP
    assert [s.name for s in report.skipped] == ["livekit.webrtc"]


def test_report_json_shape_and_text() -> None:
    report = DoctorReport(
        [Check("a", True, "fine"), Check("b", False, "broken", "mend it")],
        [Skipped("c", "not configured")],
    )
    data = json.loads(json.dumps(report.to_json()))
    assert [set(c) for c in data["checks"]] == [{"name", "ok", "detail", "fix"}] * 2
    assert not report.ok and not DoctorReport().ok
    text = format_report(report)
    assert "FAIL  b" in text and "fix: mend it" in text and "1/2 checks passed" in text
    assert "skip  c" in text


def test_rest_host_is_checked_only_when_configured() -> None:
    assert rest_host_to_check(options()) is None  # the connect host: already checked
    assert (
        rest_host_to_check(options(connect_url="https://live.convai.com"))
        == "https://api.convai.com"
    )
    assert rest_host_to_check(options(rest_url="https://rest.example")) == "https://rest.example"
    assert rest_host_to_check(options(connect_url="https://convai.example.org")) is None


# --- DNS, TCP, TLS -------------------------------------------------------------------------------


async def test_dns_for_an_ip_literal_is_trivially_ok() -> None:
    check = await check_dns("connect", "http://127.0.0.1:9")
    assert check.ok and "IP address" in check.detail


async def test_dns_failure_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    loop = asyncio.get_running_loop()

    async def fail(*_: object, **__: object) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(loop, "getaddrinfo", fail)
    check = await check_dns("rest", "https://api.convai.com")
    assert not check.ok and check.name == "rest.dns"
    assert "does not resolve" in check.detail and check.fix


async def test_tcp_ok_on_a_listening_port() -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        check = await check_tcp("connect", f"http://127.0.0.1:{port}")
    assert check.ok and f"127.0.0.1:{port} open" in check.detail


async def test_tls_is_skipped_for_plain_http_on_loopback_only() -> None:
    local = await check_tls("connect", "http://127.0.0.1:7880")
    assert local.ok and "plain http on loopback" in local.detail
    remote = await check_tls("connect", "http://example.org")
    assert not remote.ok and "not encrypted" in remote.detail
    allowed = await check_tls("connect", "http://example.org", insecure_http=True)
    assert allowed.ok


@pytest.fixture
async def self_signed_server(tmp_path: Path) -> AsyncIterator[int]:
    """A TLS server on loopback with a certificate no public CA signed (what a TLS-inspecting
    proxy presents when its CA is not trusted)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    await asyncio.to_thread(
        subprocess.run,
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/O=Zscaler Inc./CN=127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    async with server:
        yield int(server.sockets[0].getsockname()[1])


async def test_untrusted_certificate_gives_the_tls_inspection_hint(self_signed_server: int) -> None:
    check = await check_tls("connect", f"https://127.0.0.1:{self_signed_server}")
    assert not check.ok and check.name == "connect.tls"
    assert "not trusted" in check.detail
    assert check.fix == FIX_TLS_INSPECTION


@pytest.mark.parametrize(
    ("issuer", "flagged"),
    [
        ("Zscaler Inc. / Zscaler Intermediate Root CA", True),
        ("Fortinet / FortiGate CA", True),
        ("Let's Encrypt / R11", False),
        ("Google Trust Services / WE1", False),
        ("Amazon / Amazon RSA 2048 M02", False),
    ],
)
def test_inspection_hint_by_issuer(issuer: str, flagged: bool) -> None:
    assert (inspection_hint(issuer) is not None) is flagged


# --- the connect probe ---------------------------------------------------------------------------


def mock(status: int, body: Any) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body)

    return httpx.MockTransport(handler)


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (401, {"detail": "Invalid API key"}, "connection.connect_invalid_api_key"),
        (404, {"detail": "Character not found"}, "connection.connect_character_not_found"),
        (
            429,
            {"detail": "Concurrency limit reached"},
            "connection.connect_concurrency_limit_reached",
        ),
        (503, {"detail": "down"}, "connection.service_unavailable"),
    ],
)
async def test_connect_probe_maps_failures_with_catalogue_fixes(
    status: int, body: Any, code: str
) -> None:
    check, response, client = await probe_connect(
        options(connect_url="http://127.0.0.1:1"), transport=mock(status, body)
    )
    assert check.name == "connect.api" and not check.ok
    assert check.detail.startswith(code)
    assert lookup(code).fix in check.fix
    assert response is None and client is None


async def test_connect_probe_reports_config_errors_before_any_traffic() -> None:
    check, _, _ = await probe_connect(options(api_key=""))
    assert not check.ok and check.detail.startswith("config.api_key_missing")
    assert check.fix == lookup("config.api_key_missing").fix


async def test_connect_probe_success_never_shows_the_token() -> None:
    body = {"session_id": "s-1", "room_url": "ws://127.0.0.1:1", "room_name": "r", "token": TOKEN}
    check, response, client = await probe_connect(
        options(connect_url="http://127.0.0.1:1"), transport=mock(200, body)
    )
    assert check.ok and response is not None and client is not None
    assert TOKEN not in check.detail and "session s-1" in check.detail
    await client.aclose()


# --- LiveKit -------------------------------------------------------------------------------------


def signal_mock(status: int, text: str, seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, text=text)

    return httpx.MockTransport(handler)


async def test_signal_check_uses_the_validate_endpoint_over_the_room_scheme() -> None:
    seen: list[httpx.Request] = []
    check = await check_signal(
        "wss://lk.example/", TOKEN, transport=signal_mock(200, "success", seen)
    )
    assert check.ok and "wss:// signalling" in check.detail
    assert seen[0].url.scheme == "https" and seen[0].url.path == "/rtc/validate"
    assert TOKEN not in check.detail


async def test_signal_check_rejected_token() -> None:
    check = await check_signal(
        "ws://127.0.0.1:1", TOKEN, transport=signal_mock(401, "invalid authorization token", [])
    )
    assert not check.ok and "rejected the room token" in check.detail
    assert check.fix == lookup("transport.join_failure").fix


async def test_signal_check_not_a_livekit_server() -> None:
    check = await check_signal("ws://127.0.0.1:1", TOKEN, transport=signal_mock(404, "nope", []))
    assert not check.ok and "HTTP 404" in check.detail


def _stats(*, candidate_type: int, protocol: str, relay: int = 0, subscriber: bool = False) -> Any:
    reports = [
        rtc_stats.RtcStats(
            transport=rtc_stats.RtcStats.Transport(
                rtc=rtc_stats.RtcStatsData(id="T1"),
                transport=rtc_stats.TransportStats(selected_candidate_pair_id="CP1"),
            )
        ),
        rtc_stats.RtcStats(
            candidate_pair=rtc_stats.RtcStats.CandidatePair(
                rtc=rtc_stats.RtcStatsData(id="CP1"),
                candidate_pair=rtc_stats.CandidatePairStats(
                    local_candidate_id="L1", nominated=True
                ),
            )
        ),
        rtc_stats.RtcStats(
            local_candidate=rtc_stats.RtcStats.LocalCandidate(
                rtc=rtc_stats.RtcStatsData(id="L1"),
                candidate=rtc_stats.IceCandidateStats(
                    protocol=protocol,
                    candidate_type=candidate_type,  # type: ignore[arg-type]
                    relay_protocol=relay,  # type: ignore[arg-type]
                ),
            )
        ),
    ]

    class Stats:
        publisher_stats = [] if subscriber else reports
        subscriber_stats = reports if subscriber else []

    return Stats()


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"candidate_type": rtc_stats.HOST, "protocol": "udp"}, "udp"),
        ({"candidate_type": rtc_stats.HOST, "protocol": "tcp", "subscriber": True}, "tcp"),
        ({"candidate_type": rtc_stats.SRFLX, "protocol": "udp"}, "udp"),
        (
            {
                "candidate_type": rtc_stats.RELAY,
                "protocol": "udp",
                "relay": rtc_stats.TRANSPORT_TLS,
            },
            "relay (TURN over tls)",
        ),
        (
            {
                "candidate_type": rtc_stats.RELAY,
                "protocol": "udp",
                "relay": rtc_stats.TRANSPORT_UDP,
            },
            "relay (TURN over udp)",
        ),
    ],
)
def test_ice_path_from_the_selected_candidate_pair(kwargs: dict[str, Any], expected: str) -> None:
    assert describe_ice(_stats(**kwargs)) == expected


def test_ice_path_unknown_without_stats() -> None:
    class Empty:
        publisher_stats: tuple[Any, ...] = ()
        subscriber_stats: tuple[Any, ...] = ()

    assert describe_ice(Empty()) is None


# --- audio ---------------------------------------------------------------------------------------


def test_no_audio_devices_is_advisory_by_default() -> None:
    checks = audio_checks(options(), no_devices)
    assert [c.name for c in checks] == ["audio.input", "audio.output"]
    assert all(c.ok for c in checks)
    assert "text-only" in checks[0].detail
    assert checks[0].fix == lookup("audio.mic_unavailable").fix


def test_no_audio_devices_fails_when_audio_is_required() -> None:
    checks = audio_checks(options(require_audio=True), no_devices)
    assert not any(c.ok for c in checks)
    assert checks[0].fix == lookup("audio.mic_unavailable").fix
    assert checks[1].fix == lookup("audio.speaker_unavailable").fix


def test_missing_portaudio_is_reported_as_the_reason() -> None:
    def broken() -> list[DeviceInfo]:
        raise AudioError("audio.mic_unavailable", "PortAudio library not found")

    checks = audio_checks(options(require_audio=True), broken)
    assert not checks[0].ok and "PortAudio library not found" in checks[0].detail


def test_default_devices_pass() -> None:
    devices = [
        device("Mic", inputs=1, outputs=0, default_in=True),
        device("Speakers", inputs=0, outputs=2, default_out=True),
    ]
    checks = audio_checks(options(require_audio=True), lambda: devices)
    assert all(c.ok for c in checks)
    assert "Mic" in checks[0].detail and "Speakers" in checks[1].detail
