"""`convai-tui report LOG` on a recorded stand-in session (tests/fixtures/
session_standin_link.jsonl, written by `run --headless --session-log` with the stand-in's
character speaking tones): the text summary and the SVG of the Link view; replay's
diagnostics carry the same link figures."""

from __future__ import annotations

from pathlib import Path

from convai_tui.cli.main import main
from convai_tui.sessionlog.replay import ReplaySession, load_log
from convai_tui.sessionlog.report import build_report
from tests.paths import TESTS

LOG = TESTS / "fixtures" / "session_standin_link.jsonl"


def test_report_writes_the_summary_and_the_picture(tmp_path: Path, capsys: object) -> None:
    assert main(["report", str(LOG), "--out", str(tmp_path)]) == 0
    text = (tmp_path / "session_standin_link-report.txt").read_text()
    assert "Link      13 samples (1 Hz); ICE host/udp" in text
    assert "inbound audio: 0 packets lost of 200" in text
    assert "Degraded  never" in text
    assert "Turns     3 timed" in text and "sent → first audio" in text
    assert "connected 01:51:00" in text
    svg = (tmp_path / "session_standin_link-report.svg").read_text()
    assert svg.startswith("<svg") and "session_standin_link.jsonl" in svg  # the title
    for label in ("RTT", "jitter", "loss", "states", "ICE"):
        assert label in svg
    assert "written:" in capsys.readouterr().out  # type: ignore[attr-defined]


def test_report_rows_have_p50_p95_and_max() -> None:
    report = build_report(load_log(LOG))
    rtt = next(line for line in report.text.splitlines() if line.strip().startswith("RTT ms"))
    assert rtt.split()[2:] == ["1.0", "1.0", "1.0", "1.0"]  # last, p50, p95, max
    assert report.link.history.samples_seen == 13


def test_report_on_a_missing_log_is_a_clear_error(tmp_path: Path, capsys: object) -> None:
    assert main(["report", str(tmp_path / "nope.jsonl")]) == 2
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert "cannot read" in err and "Traceback" not in err


def test_report_on_a_log_without_link_samples(tmp_path: Path) -> None:
    log = tmp_path / "old.jsonl"
    log.write_text(
        '{"type": "state_changed", "ts": 1.0, "old": "disconnected", '
        '"new": "connecting"}\nnot json\n'
    )
    assert main(["report", str(log)]) == 0
    text = (tmp_path / "old-report.txt").read_text()
    assert "no link_stats samples" in text and "1 unreadable lines skipped" in text


async def test_replay_diagnostics_carry_the_link_summary() -> None:
    session = ReplaySession(load_log(LOG), speed=0)
    await session.play()
    link = session.diagnostics()["link"]
    assert link["samples"] == 13 and link["candidate"] == "host/udp"
    assert link["figures"]["bitrate_in_kbps"]["p95"] is not None
    await session.close()


def _state(at: float, old: str, new: str, reason: str | None = None) -> str:
    extra = f', "reason": "{reason}"' if reason else ""
    return f'{{"type": "state_changed", "ts": {at}, "old": "{old}", "new": "{new}"{extra}}}\n'


def _sample(at: float) -> str:
    return f'{{"type": "link_stats", "ts": {at}, "rtt_ms": 1.0}}\n'


def test_report_keeps_every_state_change(tmp_path: Path) -> None:
    log = tmp_path / "flappy.jsonl"
    lines = [
        _state(1000.0, "disconnected", "connecting"),
        _state(1001.0, "connecting", "connected"),
    ]
    for i in range(15):  # 30 more changes: more than one line holds
        lines.append(_state(1010.0 + 10 * i, "connected", "reconnecting", "link_stalled"))
        lines.append(_state(1012.0 + 10 * i, "reconnecting", "connected", "link_recovered"))
    log.write_text("".join(lines))
    text = build_report(load_log(log)).text
    states = text[text.index("States") : text.index("Link ")]
    assert states.count("reconnecting ") == 15 and states.count("connected ") == 16
    assert "connecting 00:16:40" in states  # the first change is still there
    assert all(len(line) <= 100 for line in states.splitlines())


def test_a_78_s_stalled_link_is_reported_as_degraded(tmp_path: Path) -> None:
    log = tmp_path / "stalled.jsonl"
    samples = [_sample(1000.0 + i) for i in range(1, 6)]
    samples += [_sample(1084.0 + i) for i in range(0, 3)]
    log.write_text(
        _state(1000.0, "disconnected", "connecting")
        + _state(1000.5, "connecting", "connected")
        + "".join(samples)
        + _state(1008.0, "connected", "reconnecting", "link_stalled")
        + _state(1086.0, "reconnecting", "connected", "link_recovered")
    )
    text = build_report(load_log(log)).text
    assert "Degraded  never" not in text
    assert "(78 s): reconnecting (link_stalled)" in text


def test_a_silence_in_the_readings_without_a_reconnect_is_reported(tmp_path: Path) -> None:
    log = tmp_path / "silent.jsonl"
    log.write_text(
        _state(1000.0, "connecting", "connected")
        + _sample(1001.0)
        + _sample(1002.0)
        + _sample(1080.0)
    )
    text = build_report(load_log(log)).text
    assert "(78 s): no link readings (stalled)" in text


def test_report_has_part_percentiles_and_the_slowest_waterfalls(tmp_path: Path) -> None:
    import json

    from tests.ui.scenarios import turns_events

    log = tmp_path / "turns.jsonl"
    log.write_text("".join(json.dumps(e.to_json()) + "\n" for e in turns_events()))
    assert main(["report", str(log)]) == 0
    lines = (tmp_path / "turns-report.txt").read_text().splitlines()
    llm = next(line for line in lines if line.strip().startswith("llm "))
    assert llm.split() == ["llm", "server", "410", "ms", "870", "ms"]  # 4 completed turns
    slow = [line for line in lines if line.startswith("  slow #")]
    assert slow[0].startswith("  slow #3    1462 ms text (over): input 40 → llm_wait 30 → llm 950")
    assert len(slow) == 4  # the interrupted turn is not among the slow ones
    svg = (tmp_path / "turns-report.svg").read_text()
    assert "slowest" in svg and "1462" in svg
