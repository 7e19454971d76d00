"""The run as files: `--json` (every session, turn and figure, and the summary) and `--junit`
(one testcase per turn, a failure carrying its class and figures, for CI)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from convai_tui.eval.results import TurnResult
from convai_tui.eval.runner import EvalRun
from convai_tui.eval.summary import summarize

FORMAT = "convai-tui-eval/1"


def run_json(run: EvalRun) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "scenario": {"name": run.scenario.name, "path": str(run.scenario.path)},
        "concurrency": run.options.concurrency,
        "stagger_ms": run.options.stagger_ms,
        "repeat": run.options.repeat,
        "started_at": run.started_at,
        "duration_s": round(run.duration_s, 3),
        "interrupted": run.interrupted,
        "sessions": [session.to_json() for session in run.sessions],
        "summary": summarize(run.sessions),
    }


def write_json(path: Path, run: EvalRun) -> None:
    path.write_text(json.dumps(run_json(run), indent=2, ensure_ascii=False) + "\n")


def junit_xml(run: EvalRun) -> ET.Element:
    """<testsuites><testsuite><testcase><failure/></testcase>…: the elements and attributes
    of the JUnit schema Jenkins and GitLab read."""
    turns = run.turns
    failures = sum(1 for t in turns if t.klass != "pass")
    root = ET.Element(
        "testsuites",
        name="convai-tui eval",
        tests=str(len(turns)),
        failures=str(failures),
        errors="0",
        time=f"{run.duration_s:.3f}",
    )
    suite = ET.SubElement(
        root,
        "testsuite",
        name=run.scenario.name,
        tests=str(len(turns)),
        failures=str(failures),
        errors="0",
        skipped="0",
        time=f"{run.duration_s:.3f}",
    )
    ids = {s.index: s for s in run.sessions}
    for turn in turns:
        session = ids.get(turn.session)
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"{run.scenario.name}.session{turn.session}",
            name=f"turn {turn.turn} ({turn.kind}: {turn.text[:60]})",
            time=f"{(turn.total_ms or 0) / 1000:.3f}",
        )
        if turn.klass != "pass":
            failure = ET.SubElement(
                case, "failure", message=turn.detail or turn.klass, type=turn.klass
            )
            failure.text = _failure_text(turn, session.session_id if session else None)
    return root


def _failure_text(turn: TurnResult, session_id: str | None) -> str:
    lines = [
        f"class: {turn.klass}",
        f"expect: {turn.expect}; bucket: {turn.bucket}; sla_ms: {turn.sla_ms:g}",
        f"total_ms: {turn.total_ms}",
        f"figures: {json.dumps(turn.figures)}",
        f"code: {turn.code}",
        f"session_id: {session_id}; turn_id: {turn.turn_id}",
        f"reply: {turn.reply_text[:200]}",
    ]
    return "\n".join(lines)


def write_junit(path: Path, run: EvalRun) -> None:
    tree = ET.ElementTree(junit_xml(run))
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
