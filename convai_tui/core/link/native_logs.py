"""LiveKit's native log records cross into Python only when the log would show them.

The SDK starts its native library with log capture on: every record libwebrtc and the Rust
SDK make, debug and trace included (~300 a second in a call with audio), is handed to Python
on the FFI callback thread, one callback each, and the SDK then drops all but those the
`livekit` logger shows (warnings and errors unless `--log transport=info` or `debug`; native
debug records only with LIVEKIT_RTC_DEBUG). With capture off the native library filters
them itself (errors only, or what RUST_LOG asks for) and writes what passes to stderr, which
the monitor sends to its log (runtime/native_stderr.py).
"""

from __future__ import annotations

import logging
import os

from livekit.rtc._ffi_client import FfiClient, ffi_event_callback
from livekit.rtc.version import __version__ as sdk_version


def native_logs_wanted() -> bool:
    """Whether the log shows native records below warnings (the only ones a session makes
    unless something goes wrong)."""
    debug = os.environ.get("LIVEKIT_RTC_DEBUG", "").strip().lower() in ("1", "true")
    return debug or logging.getLogger("livekit").isEnabledFor(logging.INFO)


def forward_native_logs(capture: bool) -> None:
    """Turn the native library's log capture on or off (it keeps its callback and state:
    initialising again only replaces its configuration)."""
    FfiClient.instance._ffi_lib.livekit_ffi_initialize(
        ffi_event_callback, capture, b"python", sdk_version.encode("ascii")
    )
