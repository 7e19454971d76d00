"""LiveKit's native log records reach Python only while capture is on, and it is on only when
the log would show them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest

from convai_tui.core.link.native_logs import forward_native_logs, native_logs_wanted


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    livekit = logging.getLogger("livekit")
    level = livekit.level
    yield livekit
    livekit.setLevel(level)


def test_capture_is_wanted_only_when_the_log_shows_native_records(
    monkeypatch: pytest.MonkeyPatch, logger: logging.Logger
) -> None:
    monkeypatch.delenv("LIVEKIT_RTC_DEBUG", raising=False)
    logger.setLevel(logging.WARNING)
    assert not native_logs_wanted()
    logger.setLevel(logging.INFO)
    assert native_logs_wanted()  # --log transport=info
    logger.setLevel(logging.WARNING)
    monkeypatch.setenv("LIVEKIT_RTC_DEBUG", "1")
    assert native_logs_wanted()


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


async def test_records_stop_crossing_when_capture_is_off(
    monkeypatch: pytest.MonkeyPatch, logger: logging.Logger
) -> None:
    # Each call of the native library's initialize logs "initializing ffi server" (a debug
    # record, which the SDK drops unless LIVEKIT_RTC_DEBUG is set): the record of a switch
    # itself tells whether records cross. The native side sends its records in batches, at
    # least once a second (FLUSH_INTERVAL).
    monkeypatch.setenv("LIVEKIT_RTC_DEBUG", "1")
    logger.setLevel(logging.DEBUG)
    records = Records()
    logger.addHandler(records)

    async def quiet(for_s: float, within_s: float) -> None:
        """Until no record has come for ``for_s``: what was batched before is delivered."""
        deadline = asyncio.get_running_loop().time() + within_s
        seen = -1
        while len(records.messages) != seen:
            assert asyncio.get_running_loop().time() < deadline, "records never stopped coming"
            seen = len(records.messages)
            await asyncio.sleep(for_s)

    async def initialize_records(capture: bool, wait_s: float) -> int:
        records.messages.clear()
        forward_native_logs(capture)
        for _ in range(int(wait_s * 100)):
            if any("initializing ffi server" in m for m in records.messages):
                break
            await asyncio.sleep(0.01)
        return sum("initializing ffi server" in m for m in records.messages)

    try:
        assert await initialize_records(True, 5.0) > 0
        forward_native_logs(False)
        await quiet(2.0, 15.0)
        assert await initialize_records(False, 2.5) == 0
    finally:
        forward_native_logs(True)  # the SDK's own setting, for the tests after this one
        logger.removeHandler(records)
