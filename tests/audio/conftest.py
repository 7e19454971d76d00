"""The ``pulse`` fixture: one private PulseAudio daemon for the audio tests of a session.

Locally, a machine without PulseAudio skips these tests loudly; in CI (``CI=true``) it fails
them, because a silent skip there would hide a broken set-up.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator

import pytest

from .pulse import PulseServer, PulseUnavailable, start_pulse


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _reinit_portaudio() -> None:
    # PortAudio (through ALSA) decides at initialisation whether the "pulse"/"default" devices
    # route to PulseAudio; if sounddevice was imported before the daemon existed, start over.
    sd = sys.modules.get("sounddevice")
    if sd is not None:
        sd._terminate()
        sd._initialize()


@pytest.fixture(scope="session")
def pulse() -> Iterator[PulseServer]:
    try:
        server = start_pulse()
    except PulseUnavailable as exc:
        problem = f"PulseAudio harness unavailable: {exc}"
    else:
        problem = ""
    if problem:
        if _in_ci():
            pytest.fail(problem, pytrace=False)
        warnings.warn(problem, stacklevel=1)
        pytest.skip(f"*** SKIPPED AUDIO TESTS *** {problem}")
    saved = {key: os.environ.get(key) for key in server.env}
    os.environ.update(server.env)
    _reinit_portaudio()
    try:
        yield server
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()
        _reinit_portaudio()
