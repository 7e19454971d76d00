"""Lazy access to ``sounddevice``.

``import sounddevice`` raises ``OSError`` when the PortAudio shared library is missing, so it
is imported only inside functions, and every failure becomes an :class:`AudioError`.
"""

from __future__ import annotations

import re
from types import ModuleType
from typing import Any, cast

from .errors import MIC_PERMISSION_DENIED, MIC_UNAVAILABLE, AudioError

# How a refused device shows through PortAudio: ALSA's -13 (EACCES) on /dev/snd, PulseAudio's
# "Access denied" for a client without the cookie or rights, or a plain errno 13.
_DENIED = re.compile(
    r"permission denied|access denied|not permitted|\berrno 13\b|"
    r"\(-13\)|error -13\b",
    re.IGNORECASE,
)


def load_sounddevice(code: str = MIC_UNAVAILABLE) -> ModuleType:
    """Import and return ``sounddevice``; raise ``AudioError(code)`` if PortAudio is unusable."""
    try:
        import sounddevice
    except (ImportError, OSError) as exc:  # OSError: libportaudio not found
        raise AudioError(code, f"PortAudio is not available ({exc}).") from None
    return cast(ModuleType, sounddevice)


def portaudio_error_message(exc: BaseException) -> str:
    """A one-line description of a PortAudio failure, without a traceback."""
    text = (str(exc).strip() or type(exc).__name__).splitlines()[0]
    # PortAudio names "no default device" as a query of device -1.
    if "device -1" in text:
        return "no such device here (no default audio device; `convai-tui devices` lists them)"
    return text


def start_stream(stream_class: Any, code: str, what: str, **options: Any) -> tuple[Any, int]:
    """Open and start a PortAudio stream, mono first: some raw devices only open with 2
    channels (then channel 0 is used). Returns (stream, channels); raises AudioError(code)."""
    errors: list[BaseException] = []
    for channels in (1, 2):
        try:
            stream = stream_class(channels=channels, dtype="int16", **options)
            stream.start()
        except Exception as exc:  # PortAudioError, ValueError for a bad device, ...
            errors.append(exc)
            continue
        return stream, channels
    denied = [exc for exc in errors if _DENIED.search(str(exc))]
    if code == MIC_UNAVAILABLE and denied:
        code = MIC_PERMISSION_DENIED
    message = portaudio_error_message((denied or errors)[-1])
    raise AudioError(code, f"Cannot open {what}: {message}")
