"""Summary percentiles, --compare on two --json files, and the JUnit file against the schema's
elements and attributes."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from convai_tui.eval.compare import compare, load_baseline
from convai_tui.eval.reports import junit_xml, run_json, write_json
from convai_tui.eval.results import SessionResult, TurnResult
from convai_tui.eval.runner import EvalOptions, EvalRun
from convai_tui.eval.scenario import Scenario, Turn
from convai_tui.eval.summary import format_summary, percentile, summarize
from tests.unit.eval.junit_schema import validate_junit


def _turn(session: int, n: int, total: float, klass: str = "pass", **figures: Any) -> TurnResult:
    return TurnResult(
        session=session,
        turn=n,
        kind="say",
        text="hello",
        expect="respond",
        klass=klass,
        bucket="text->voice",
        sla_ms=1200.0,
        total_ms=total,
        figures={"sent_to_first_audio_ms": total, **figures},
        reply_text="hi",
        audio=True,
        turn_id=n,
        detail=None if klass == "pass" else "why",
    )


def _run(turns: list[TurnResult]) -> EvalRun:
    scenario = Scenario(Path("s.toml"), "demo", (Turn(0, "say", "hello", "respond"),))
    sessions: dict[int, SessionResult] = {}
    for turn in turns:
        sessions.setdefault(
            turn.session, SessionResult(turn.session, 1, f"sid-{turn.session}", "cs")
        ).turns.append(turn)
    return EvalRun(scenario, EvalOptions(), list(sessions.values()), duration_s=1.5)


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50 and percentile(values, 95) == 95
    assert percentile(values, 99) == 99 and percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None


def test_summary_buckets_parts_classes_and_slowest_with_ids() -> None:
    turns = [_turn(1, 1, 100.0), _turn(1, 2, 300.0, "sla_miss"), _turn(2, 1, 200.0)]
    turns[0].figures["segments"] = [  # turn_timing's breakdown, as its events carry it
        {"name": "llm", "ms": 40.0, "owner": "server", "source": "server"},
        {"name": "tts", "ms": 60.0, "owner": "server", "source": "server"},
    ]
    summary = summarize(_run(turns).sessions)
    bucket = summary["buckets"]["text->voice"]
    assert bucket["count"] == 3
    assert bucket["parts"]["total_ms"] == {"p50": 200.0, "p95": 300.0, "p99": 300.0}
    assert bucket["parts"]["segments.llm"]["p50"] == 40.0
    assert summary["classes"] == {"pass": 2, "sla_miss": 1}
    assert summary["slowest"][0] == {
        "session": 1,
        "turn": 2,
        "total_ms": 300.0,
        "class": "sla_miss",
        "session_id": "sid-1",
        "character_session_id": "cs",
        "turn_id": 2,
    }
    text = format_summary(summary, title="eval")
    assert text.splitlines()[2].startswith("text->voice  (3 turns)")
    assert "session_id=sid-1" in text


def test_compare_flags_a_slowed_stage_from_two_json_files(tmp_path: Path) -> None:
    base = [_turn(1, 1, 400.0, llm_ms=100.0), _turn(1, 2, 420.0, llm_ms=110.0)]
    slow = [_turn(1, 1, 420.0, llm_ms=300.0), _turn(1, 2, 430.0, llm_ms=320.0)]
    write_json(tmp_path / "base.json", _run(base))
    write_json(tmp_path / "now.json", _run(slow))
    baseline = load_baseline(tmp_path / "base.json")
    current = load_baseline(tmp_path / "now.json")
    found = [str(r) for r in compare(baseline, current)]
    # llm_ms tripled; the total rose 20 ms (under 50 ms): only the stage is flagged
    assert found == ["text->voice llm_ms: p50 100 ms -> 300 ms (slower)"]
    assert compare(baseline, baseline) == []


def test_compare_flags_a_new_failure_class_but_not_small_slowdowns() -> None:
    base = summarize(_run([_turn(1, 1, 100.0)]).sessions)
    # +40 % but only +40 ms: within the noise allowance
    now = summarize(_run([_turn(1, 1, 140.0, "timeout")]).sessions)
    assert [str(r) for r in compare(base, now)] == ["timeout: 1 turns (none in the baseline)"]


def test_junit_has_a_testcase_per_turn_and_fits_the_schema() -> None:
    turns = [_turn(1, 1, 100.0), _turn(1, 2, 300.0, "sla_miss"), _turn(2, 1, 200.0)]
    root = ET.fromstring(ET.tostring(junit_xml(_run(turns))))
    validate_junit(root)
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == 3
    failures = root.findall("./testsuite/testcase/failure")
    assert [f.get("type") for f in failures] == ["sla_miss"]
    assert failures[0].text is not None and "total_ms: 300.0" in failures[0].text
    assert "session_id: sid-1" in failures[0].text
    assert root.find("testsuite").get("failures") == "1"  # type: ignore[union-attr]


def test_run_json_holds_every_session_turn_and_the_summary() -> None:
    data = json.loads(json.dumps(run_json(_run([_turn(1, 1, 100.0), _turn(2, 1, 200.0)]))))
    assert [len(s["turns"]) for s in data["sessions"]] == [1, 1]
    assert data["sessions"][0]["turns"][0]["class"] == "pass"
    assert data["summary"]["turns"] == 2
