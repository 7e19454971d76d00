"""Importing the audio package never pulls in the UI and survives a missing PortAudio."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from convai_tui.audio import errors
from convai_tui.core.errors.error import CATALOGUE
from tests.paths import REPO as _REPO

REPO = _REPO


def _run(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    # A sounddevice that fails the way the real one does when libportaudio is missing.
    (tmp_path / "sounddevice.py").write_text('raise OSError("PortAudio library not found")\n')
    env = {"PYTHONPATH": f"{tmp_path}:{REPO}", "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=tmp_path,
    )


def test_import_does_not_load_ui_or_sounddevice(tmp_path: Path) -> None:
    result = _run(
        """
        import sys
        import convai_tui.audio
        assert "textual" not in sys.modules, "textual imported"
        assert "rich" not in sys.modules, "rich imported"
        assert "sounddevice" not in sys.modules, "sounddevice imported eagerly"
        print("ok")
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_missing_portaudio_gives_codes_not_tracebacks(tmp_path: Path) -> None:
    result = _run(
        """
        import asyncio
        from convai_tui.audio import AudioError, AudioPipeline, AudioSettings, list_devices
        try:
            list_devices()
        except AudioError as exc:
            print("list", exc.code)

        class Participant:
            async def publish_track(self, track, options):
                raise AssertionError("nothing should be published without a mic")

        class Room:
            local_participant = Participant()
            remote_participants = {}
            def on(self, event, handler): raise AssertionError("no speaker, no playback")
            def off(self, event, handler): pass

        async def main():
            problems = []
            pipe = AudioPipeline(AudioSettings(), lambda code, msg: problems.append(code))
            result = await pipe.start(Room())
            print("start", result.mic, result.speaker, *problems)
            print("levels", pipe.levels().mic_dbfs)
            await pipe.stop()

        asyncio.run(main())
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert lines == [
        "list audio.mic_unavailable",
        "start False False audio.mic_unavailable audio.speaker_unavailable",
        "levels None",
    ]


def test_audio_codes_are_in_the_catalogue() -> None:
    for code in errors.ALL_CODES:
        assert code in CATALOGUE, code
