"""`convai-tui doctor`: the network and audio checklist of shared/seeds/002, run for real.

Each check is an async function returning a `Check(name, ok, detail, fix)` (doctor/report.py);
the host checks are in doctor/hosts.py, the LiveKit ones in doctor/livekit.py, and `run_doctor`
here composes them in order with the connect API probe and the audio checks. Every check is bounded in time. Hosts other than the configured ones
are never contacted: the REST host is the one core's `rest_url_for` allows for the connect URL
(Convai's cloud, or an explicit --rest-url). Audio checks are advisory unless `require_audio`:
text-only is a supported way to run a session, so "no devices" passes with a note.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx

from convai_tui.core.connect.connect_api import ConnectApiClient, ConnectRequest, ConnectResponse
from convai_tui.core.connect.rest_api import rest_url_for
from convai_tui.core.errors.error import ConvaiError, lookup
from convai_tui.core.errors.redact import REDACTOR
from convai_tui.core.settings.session_settings import SessionSettings, validate_settings
from convai_tui.doctor.hosts import host_checks
from convai_tui.doctor.livekit import livekit_checks
from convai_tui.doctor.report import (
    FIX_CONVAI_TCP,
    Check,
    DoctorOptions,
    DoctorReport,
    Skipped,
)


def rest_host_to_check(options: DoctorOptions) -> str | None:
    """The REST host the monitor would ask for character names (core's `rest_url_for`); None
    when that is the connect URL itself, whose host the connect checks already cover."""
    rest = rest_url_for(options.connect_url, options.rest_url)
    return None if rest == options.connect_url.rstrip("/") else rest


# --- the connect API probe ------------------------------------------------------------------------


def _fix_for(code: str) -> str:
    fix = lookup(code).fix
    if code in ("connection.network_error", "connection.timeout"):
        fix = f"{fix} {FIX_CONVAI_TCP}"
    return fix


async def probe_connect(
    options: DoctorOptions,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[Check, ConnectResponse | None, ConnectApiClient | None]:
    """One authenticated /connect; the caller releases the session with `release_session`."""
    name = "connect.api"
    settings = SessionSettings(
        connect_url=options.connect_url,
        api_key=options.api_key,
        character_id=options.character_id,
        insecure_http=options.insecure_http,
    )
    config_error = validate_settings(settings)
    if config_error is not None:
        return (
            Check(
                name,
                False,
                f"{config_error.code}: {config_error.message}",
                _fix_for(config_error.code),
            ),
            None,
            None,
        )
    client = ConnectApiClient(
        options.connect_url, options.api_key, timeout_s=options.timeout_s, transport=transport
    )
    try:
        response = await client.connect(ConnectRequest(character_id=options.character_id))
    except ConvaiError as exc:
        await client.aclose()
        err = exc.error
        return Check(name, False, f"{err.code}: {err.message}", _fix_for(err.code)), None, None
    detail = (
        f"POST {client.connect_url}/connect answered 200 in {response.elapsed_ms:.0f} ms: "
        f"session {response.session_id}, room {response.room_name} at "
        f"{response.room_url}."
    )
    return Check(name, True, detail), response, client


async def release_session(client: ConnectApiClient, session_id: str) -> str:
    try:
        released = await client.disconnect(session_id) if session_id else False
    finally:
        await client.aclose()
    return (
        "Session released with POST /disconnect."
        if released
        else "POST /disconnect did not answer 200 (the session times out on its own)."
    )


# --- audio --------------------------------------------------------------------------------------


def audio_checks(
    options: DoctorOptions, list_devices: Callable[[], Sequence[Any]] | None = None
) -> list[Check]:
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
    for kind, name, fix in (
        ("input", "audio.input", mic_fix),
        ("output", "audio.output", speaker_fix),
    ):
        usable = [d for d in devices if d.has(kind)]
        default = next(
            (d for d in usable if (d.is_default_input if kind == "input" else d.is_default_output)),
            None,
        )
        if default is not None:
            out.append(
                Check(
                    name,
                    True,
                    f"default {kind}: {default.name} ({default.host_api}); "
                    f"{len(usable)} {kind} device(s).",
                )
            )
        elif usable:
            out.append(
                Check(
                    name,
                    True,
                    f"no default {kind} device, but {len(usable)} usable: "
                    f"pass --{kind}-device ({usable[0].name}).",
                    fix,
                )
            )
        else:
            why = problem or f"no {kind} devices found"
            if options.require_audio:
                out.append(Check(name, False, f"{why}.", fix))
            else:
                mode = "text-only" if kind == "input" else "transcripts only, no voice"
                out.append(
                    Check(
                        name,
                        True,
                        f"{why}: sessions run {mode} (advisory; --require-audio makes this fail).",
                        fix,
                    )
                )
    return out


# --- composition --------------------------------------------------------------------------------


async def run_doctor(
    options: DoctorOptions, *, list_devices: Callable[[], Sequence[Any]] | None = None
) -> DoctorReport:
    """Run the checklist in order; never raises for a network problem (it is a failed check)."""
    report = DoctorReport()
    if options.livekit_url and options.token:
        await livekit_checks(options.livekit_url, options.token, options, report)
        return report
    if options.api_key:
        REDACTOR.add_secret(options.api_key)
    await host_checks("connect", options.connect_url, options, report)
    rest = rest_host_to_check(options)
    if rest is None:
        report.skipped.append(
            Skipped(
                "rest",
                "the connect URL is not Convai's cloud: character names are asked of the "
                "connect host itself; pass --rest-url to check another REST host",
            )
        )
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
        report.checks.insert(
            index, Check(probe.name, probe.ok, f"{probe.detail} {released}", probe.fix)
        )
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
    lines.append(
        f"{len(report.checks) - failed}/{len(report.checks)} checks passed"
        + ("" if not failed else f"; {failed} failed")
    )
    return "\n".join(lines)
