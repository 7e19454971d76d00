"""LiveKit's native log records reach Python only while capture is on, and it is on only when
the log would show them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
from livekit import rtc

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
    monkeypatch.setenv("LIVEKIT_RTC_DEBUG", "1")  # the SDK drops its debug records otherwise
    logger.setLevel(logging.DEBUG)
    records = Records()
    logger.addHandler(records)
    loop = asyncio.get_running_loop()

    async def records_of_one_request(wait_s: float) -> int:
        records.messages.clear()
        source = rtc.AudioSource(48_000, 1, queue_size_ms=0, loop=loop)  # the request logs
        for _ in range(int(wait_s * 100)):
            if records.messages:
                break
            await asyncio.sleep(0.01)
        await source.aclose()
        return len(records.messages)

    try:
        forward_native_logs(True)
        assert await records_of_one_request(3.0) > 0
        forward_native_logs(False)
        await asyncio.sleep(0.1)  # what was on its way when capture went off
        assert await records_of_one_request(1.0) == 0
    finally:
        forward_native_logs(True)  # the SDK's own setting, for the tests after this one
        logger.removeHandler(records)
