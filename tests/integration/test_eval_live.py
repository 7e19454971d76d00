"""`convai-tui eval` as a user runs it, against `convai-tui local-server` on a real
livekit-server: typed, voice (a WAV sent as the microphone track), trigger and context turns on
concurrent sessions; connect faults, a slow character, an abstaining one."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from convai_tui.audio.dsp.synth import tone
from convai_tui.audio.dsp.wav import write_wav_mono
from tests.integration.headless_harness import CLI, LocalServer, clean_env
from tests.integration.standin_client import require_livekit_server
from tests.unit.eval.junit_schema import validate_junit

pytestmark = [pytest.mark.integration, pytest.mark.serial]

# The text SLA is the scenario's own (5 s, not 1.2 s): this test checks that four kinds of turn
# on concurrent sessions are played, timed and classed; the stand-in paces its reply word by
# word with asyncio sleeps that run late when 8 sessions share a loaded 2-core runner, and that
# is not the character under test. SLA misses are pinned with known stage delays below.
FOUR_TURNS = """\
name = "four kinds of turn"
sla_text_ms = 5000
[[turns]]
say = "hello there"
expect = "respond_with_audio"
[[turns]]
audio = "clips/where.wav"
expect = "respond_with_audio"
[[turns]]
trigger = "greet"
expect = "respond"
[[turns]]
context = "the user is a nurse:append"
expect = "no_response"
"""


def _voice_clip(path: Path) -> None:
    """A spoken question (espeak-ng, 22.05 kHz) or, without espeak-ng, a 1 s tone at 16 kHz:
    the stand-in's VAD hears either as an utterance (stereo clips: the unit tests)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if shutil.which("espeak-ng"):
        subprocess.run(
            ["espeak-ng", "-w", str(path), "where is the station please"], check=True, timeout=30
        )
        return
    write_wav_mono(path, tone(440.0, 1.0, amplitude=0.3, sample_rate=16_000), 16_000)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    require_livekit_server()
    started = LocalServer.start(tmp_path_factory.mktemp("eval-standin"), "--tts", "tone")
    try:
        yield started
    finally:
        started.close()


def _eval(
    server: LocalServer, tmp: Path, scenario: str, *args: str, timeout_s: float = 240
) -> tuple[int, str, dict[str, Any]]:
    path = tmp / "scenario.toml"
    path.write_text(scenario)
    out = tmp / "out.json"
    done = subprocess.run(
        [
            *CLI,
            "eval",
            str(path),
            "--connect-url",
            server.connect_url,
            "--api-key",
            server.api_key,
            "--character-id",
            server.character_id,
            "--json",
            str(out),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=clean_env(tmp),
    )
    report = json.loads(out.read_text()) if out.exists() else {}
    return done.returncode, done.stdout + done.stderr, report


def _classes(report: dict[str, Any]) -> list[str]:
    return [t["class"] for s in report["sessions"] for t in s["turns"]]


def test_four_kinds_of_turn_on_four_sessions_twice_all_pass(
    server: LocalServer, tmp_path: Path
) -> None:
    _voice_clip(tmp_path / "clips" / "where.wav")
    junit = tmp_path / "out.xml"
    code, output, report = _eval(
        server,
        tmp_path,
        FOUR_TURNS,
        "--concurrency",
        "4",
        "--repeat",
        "2",
        "--stagger-ms",
        "250",
        "--junit",
        str(junit),
    )
    assert code == 0, output
    assert _classes(report) == ["pass"] * 32, output
    sessions = report["sessions"]
    assert len({s["session_id"] for s in sessions}) == 8
    assert [s["repeat"] for s in sessions] == [1] * 4 + [2] * 4
    voice = [t for s in sessions for t in s["turns"] if t["input"] == "audio"]
    assert all(t["bucket"] == "voice->voice" for t in voice)
    assert all(t["figures"].get("user_stop_to_speech_ms") is not None for t in voice)
    buckets = report["summary"]["buckets"]
    assert {"text->voice", "voice->voice", "trigger->voice", "text->none"} <= set(buckets)
    assert buckets["text->voice"]["parts"]["total_ms"]["p50"] is not None
    assert "slowest turns:" in output and "voice->voice  (8 turns)" in output
    root = ET.parse(junit).getroot()
    validate_junit(root)
    assert len(root.findall("./testsuite/testcase")) == 32
    assert not root.findall(".//failure")


def test_connect_faults_class_those_sessions_connection_error(tmp_path: Path) -> None:
    require_livekit_server()
    faulty = LocalServer.start(
        tmp_path / "standin", "--connect-status", "503", "--connect-fault-count", "2"
    )
    try:
        code, output, report = _eval(
            faulty,
            tmp_path,
            '[[turns]]\nsay = "hello"\n[[turns]]\nsay = "and again"\n',
            "--concurrency",
            "2",
            "--repeat",
            "2",
            "--stagger-ms",
            "300",
        )
    finally:
        faulty.close()
    assert code == 1, output
    by_session = [(s["error_code"], [t["class"] for t in s["turns"]]) for s in report["sessions"]]
    failed = [codes for error, codes in by_session if error is not None]
    passed = [codes for error, codes in by_session if error is None]
    assert failed == [["connection_error"] * 2] * 2, by_session
    assert passed == [["pass"] * 2] * 2, by_session
    codes = {t["code"] for s in report["sessions"] for t in s["turns"] if t["code"]}
    assert len(codes) == 1 and next(iter(codes)).startswith("connection."), codes
    assert "connection_error 4" in output


def test_an_abstaining_reply_against_respond_is_a_behavior_mismatch(
    server: LocalServer, tmp_path: Path
) -> None:
    # "say nothing" is the stand-in's no-response prompt: it answers llm-no-response
    scenario = (
        '[[turns]]\nsay = "please say nothing"\nexpect = "respond"\n'
        '[[turns]]\nsay = "please say nothing again"\nexpect = "abstain"\n'
    )
    code, output, report = _eval(server, tmp_path, scenario)
    assert code == 1, output
    assert _classes(report) == ["behavior_mismatch", "pass"], output
    first = report["sessions"][0]["turns"][0]
    assert first["detail"] == "expected a response, got no_response"
    assert first["bucket"] == "text->none"


def _has_stage_delays() -> bool:
    done = subprocess.run(
        [*CLI, "local-server", "--help"], capture_output=True, text=True, timeout=60
    )
    return "--stage-delays" in done.stdout


def test_stage_delays_over_the_text_sla_are_sla_misses_and_exit_1(tmp_path: Path) -> None:
    require_livekit_server()
    if not _has_stage_delays():
        pytest.skip("needs `local-server --stage-delays` (added on another branch; runs after)")
    slow = LocalServer.start(tmp_path / "standin", "--stage-delays", "llm=1500")
    try:
        code, output, report = _eval(
            slow, tmp_path, '[[turns]]\nsay = "hello"\n[[turns]]\nsay = "again"\n'
        )
    finally:
        slow.close()
    assert code == 1, output
    assert _classes(report) == ["sla_miss", "sla_miss"], output


def test_compare_fails_the_run_when_a_baseline_was_faster(
    server: LocalServer, tmp_path: Path
) -> None:
    scenario = '[[turns]]\nsay = "hello"\n'
    code, output, report = _eval(server, tmp_path, scenario)
    assert code == 0, output
    baseline = tmp_path / "baseline.json"
    for bucket in report["summary"]["buckets"].values():  # a week ago it answered at once
        for pcts in bucket["parts"].values():
            pcts["p50"] = 1.0
    baseline.write_text(json.dumps(report))
    code, output, _ = _eval(server, tmp_path, scenario, "--compare", str(baseline))
    assert code == 1, output
    assert "regressions:" in output and "(slower)" in output


def test_ctrl_c_leaves_every_session_and_still_writes_the_results(
    server: LocalServer, tmp_path: Path
) -> None:
    path = tmp_path / "scenario.toml"
    path.write_text('[[turns]]\nsay = "hello"\n' + '[[turns]]\nsay = "tell me more"\n' * 6)
    out = tmp_path / "out.json"
    process = subprocess.Popen(
        [
            *CLI,
            "eval",
            str(path),
            "--connect-url",
            server.connect_url,
            "--api-key",
            server.api_key,
            "--character-id",
            server.character_id,
            "--concurrency",
            "2",
            "--repeat",
            "2",
            "--json",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(tmp_path),
    )
    try:
        deadline = time.monotonic() + 60
        while not server.admin("stats")["active_sessions"] and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(3)  # a turn or two under way
        process.send_signal(signal.SIGINT)
        stdout, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert process.returncode == 1
    assert "(interrupted: partial results)" in stdout
    report = json.loads(out.read_text())
    assert report["interrupted"] is True
    assert len(report["sessions"]) == 2  # the second round never started
    deadline = time.monotonic() + 15
    while server.admin("stats")["active_sessions"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert server.admin("stats")["active_sessions"] == []
