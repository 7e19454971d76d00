"""`convai-tui eval`'s arguments: a bad scenario or bad numbers are status 2 before anything
connects, with one line naming the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from convai_tui.cli.main import main


@pytest.fixture(autouse=True)
def _no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVAI_CONFIG", str(tmp_path / "none.toml"))


def test_a_bad_scenario_is_status_2_naming_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[[turns]]\nsay = "hi"\nexpekt = "respond"\n')
    assert main(["eval", str(path), "--connect-url", "http://127.0.0.1:9"]) == 2
    assert f"{path}:3: turns[1].expekt: unknown key" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [
        ("--concurrency", "0", "--concurrency must be 1 or more"),
        ("--repeat", "0", "--repeat must be 1 or more"),
        ("--stagger-ms", "-1", "--stagger-ms must be 0 or more"),
    ],
)
def test_bad_numbers_are_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str, says: str
) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[[turns]]\nsay = "hi"\n')
    assert main(["eval", str(path), flag, value]) == 2
    assert says in capsys.readouterr().err


def test_unknown_flags_are_argparse_status_2(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["eval", str(tmp_path / "s.toml"), "--say", "hi"])
    assert exited.value.code == 2
