"""The `eval` command once its arguments are checked: run, report, compare, exit status.

Exit status: 0 when every turn passed (and nothing regressed against --compare), 1 otherwise
(a run Ctrl-C cut short included: not every turn ran), 2 on a bad scenario or bad arguments.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from convai_tui.core.settings.session_settings import SessionSettings
from convai_tui.eval.compare import BaselineError, compare, load_baseline
from convai_tui.eval.progress import Progress
from convai_tui.eval.reports import write_json, write_junit
from convai_tui.eval.runner import EvalOptions, MicFactory, SessionFactory, run_eval
from convai_tui.eval.scenario import Scenario
from convai_tui.eval.summary import format_summary, summarize


@dataclass(frozen=True)
class EvalOutputs:
    json_path: Path | None = None
    junit_path: Path | None = None
    compare_path: Path | None = None


def one_attempt(settings: SessionSettings) -> SessionSettings:
    """An eval session connects once and does not reconnect: a retried success would hide the
    very failure the run is measuring (the turns are classed connection_error instead)."""
    retry = dataclasses.replace(
        settings.retry, connect_delays_s=(0.0,), max_reconnect_attempts=0, waiting_room=False
    )
    return dataclasses.replace(settings, retry=retry)


def check_options(options: EvalOptions) -> str | None:
    if options.concurrency < 1:
        return "--concurrency must be 1 or more"
    if options.repeat < 1:
        return "--repeat must be 1 or more"
    if options.stagger_ms < 0:
        return "--stagger-ms must be 0 or more"
    return None


async def run_eval_command(
    scenario: Scenario,
    options: EvalOptions,
    outputs: EvalOutputs,
    make_session: SessionFactory,
    *,
    make_mic: MicFactory | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    baseline = None
    if outputs.compare_path is not None:
        try:
            baseline = load_baseline(outputs.compare_path)
        except BaselineError as exc:
            err.write(f"convai-tui: {exc}\n")
            return 2
    run = await run_eval(scenario, options, make_session, make_mic=make_mic, progress=Progress(err))
    summary = summarize(run.sessions)
    title = f"eval {scenario.name!r}" + (
        " (interrupted: partial results)" if run.interrupted else ""
    )
    out.write(format_summary(summary, title=title) + "\n")
    if outputs.json_path is not None:
        write_json(outputs.json_path, run)
    if outputs.junit_path is not None:
        write_junit(outputs.junit_path, run)
    regressions = compare(baseline, summary) if baseline is not None else []
    if baseline is not None:
        out.write(f"against {outputs.compare_path}: ")
        out.write("regressions:\n" if regressions else "no regression\n")
        for regression in regressions:
            out.write(f"  {regression}\n")
    out.flush()
    expected = options.concurrency * options.repeat * len(scenario.turns)
    every_turn_passed = len(run.turns) == expected and all(t.klass == "pass" for t in run.turns)
    return 0 if every_turn_passed and not regressions and not run.interrupted else 1
