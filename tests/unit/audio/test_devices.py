"""Device listing and --input-device / --output-device resolution with a fake device list."""

from __future__ import annotations

import json
import sys
import types
from typing import Any

import pytest

from convai_tui.audio.devices import DeviceInfo, list_devices, parse_devices, resolve_device
from convai_tui.audio.errors import MIC_UNAVAILABLE, SPEAKER_UNAVAILABLE, AudioError

RAW: list[dict[str, Any]] = [
    {
        "name": "HDA Intel PCH: ALC3246 Analog (hw:0,0)",
        "hostapi": 0,
        "max_input_channels": 2,
        "max_output_channels": 2,
        "default_samplerate": 44100.0,
    },
    {
        "name": "HDMI 0 (hw:0,3)",
        "hostapi": 0,
        "max_input_channels": 0,
        "max_output_channels": 8,
        "default_samplerate": 48000.0,
    },
    {
        "name": "USB Headset: Audio (hw:1,0)",
        "hostapi": 0,
        "max_input_channels": 1,
        "max_output_channels": 2,
        "default_samplerate": 48000.0,
    },
    {
        "name": "pulse",
        "hostapi": 0,
        "max_input_channels": 32,
        "max_output_channels": 32,
        "default_samplerate": 44100.0,
    },
    {
        "name": "default",
        "hostapi": 0,
        "max_input_channels": 32,
        "max_output_channels": 32,
        "default_samplerate": 44100.0,
    },
    {
        "name": "/dev/dsp",
        "hostapi": 1,
        "max_input_channels": 16,
        "max_output_channels": 16,
        "default_samplerate": 44100.0,
    },
]
APIS = [{"name": "ALSA"}, {"name": "OSS"}]


@pytest.fixture
def devices() -> list[DeviceInfo]:
    return parse_devices(RAW, APIS, default_input=4, default_output=4)


def test_parse_marks_defaults_and_host_apis(devices: list[DeviceInfo]) -> None:
    assert [d.index for d in devices] == [0, 1, 2, 3, 4, 5]
    assert devices[5].host_api == "OSS"
    assert [d.index for d in devices if d.is_default_input] == [4]
    assert [d.index for d in devices if d.is_default_output] == [4]
    row = json.loads(json.dumps(devices[2].to_json()))
    assert row == {
        "index": 2,
        "name": "USB Headset: Audio (hw:1,0)",
        "host_api": "ALSA",
        "max_input_channels": 1,
        "max_output_channels": 2,
        "default_samplerate": 48000.0,
        "is_default_input": False,
        "is_default_output": False,
    }


@pytest.mark.parametrize("spec", [None, "", "default", " Default "])
def test_default_spec_means_system_default(spec: str | None, devices: list[DeviceInfo]) -> None:
    assert resolve_device(spec, "input", devices) is None


def test_by_index(devices: list[DeviceInfo]) -> None:
    assert resolve_device(2, "input", devices) == 2
    assert resolve_device("1", "output", devices) == 1


def test_index_without_channels_of_that_kind_is_refused(devices: list[DeviceInfo]) -> None:
    with pytest.raises(AudioError) as info:
        resolve_device(1, "input", devices)  # HDMI has no inputs
    assert info.value.code == MIC_UNAVAILABLE
    assert "no input channels" in info.value.message


def test_unknown_index(devices: list[DeviceInfo]) -> None:
    with pytest.raises(AudioError) as info:
        resolve_device(42, "output", devices)
    assert info.value.code == SPEAKER_UNAVAILABLE


def test_by_substring_case_insensitive(devices: list[DeviceInfo]) -> None:
    assert resolve_device("usb", "input", devices) == 2
    assert resolve_device("HDMI", "output", devices) == 1


def test_substring_only_among_devices_of_that_kind(devices: list[DeviceInfo]) -> None:
    with pytest.raises(AudioError) as info:
        resolve_device("hdmi", "input", devices)
    assert info.value.code == MIC_UNAVAILABLE
    assert "Available:" in info.value.message


def test_exact_name_beats_earlier_substring(devices: list[DeviceInfo]) -> None:
    # "pulse-echo" comes first and contains "pulse", but the exact name wins.
    extra = [*devices, DeviceInfo(9, "pulse-echo", "ALSA", 1, 0, 48000.0, False, False)]
    reordered = [extra[-1], *extra[:-1]]
    assert resolve_device("pulse", "input", reordered) == 3


def test_list_devices_uses_sounddevice(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("sounddevice")
    fake.query_devices = lambda: RAW  # type: ignore[attr-defined]
    fake.query_hostapis = lambda: APIS  # type: ignore[attr-defined]
    fake.default = types.SimpleNamespace(device=[4, -1])  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sounddevice", fake)
    rows = list_devices()
    assert len(rows) == 6
    assert rows[4].is_default_input and not any(r.is_default_output for r in rows)


def test_list_devices_without_portaudio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # import raises ImportError
    with pytest.raises(AudioError) as info:
        list_devices()
    assert info.value.code == MIC_UNAVAILABLE
    assert "PortAudio" in info.value.message


def test_missing_default_device_is_explained() -> None:
    from convai_tui.audio.backend import portaudio_error_message

    message = portaudio_error_message(Exception("Error querying device -1"))
    assert "no default audio device" in message and "-1" not in message
    assert portaudio_error_message(Exception("Invalid sample rate\nmore")) == "Invalid sample rate"


class _Refusing:
    """A stream class whose every open fails with ``error`` (PortAudio's exception text)."""

    error = "Error opening InputStream: Unanticipated host error [PaErrorCode -9999]"

    def __init__(self, **options: object) -> None:
        raise RuntimeError(self.error)


@pytest.mark.parametrize(
    "error",
    [
        "Error opening InputStream: Unanticipated host error [PaErrorCode -9999]: "
        "'Permission denied' [ALSA error -13]",
        "Error opening InputStream: Access denied",
        "[Errno 13] Permission denied: '/dev/snd/pcmC0D0c'",
    ],
)
def test_a_refused_microphone_is_mic_permission_denied(error: str) -> None:
    from convai_tui.audio.backend import start_stream
    from convai_tui.audio.errors import MIC_PERMISSION_DENIED, AudioError

    refusing = type("Refusing", (_Refusing,), {"error": error})
    with pytest.raises(AudioError) as caught:
        start_stream(refusing, "audio.mic_unavailable", "the microphone")
    assert caught.value.code == MIC_PERMISSION_DENIED


def test_other_open_failures_stay_unavailable_and_speakers_never_become_mic_errors() -> None:
    from convai_tui.audio.backend import start_stream
    from convai_tui.audio.errors import MIC_UNAVAILABLE, SPEAKER_UNAVAILABLE, AudioError

    with pytest.raises(AudioError) as caught:
        start_stream(_Refusing, MIC_UNAVAILABLE, "the microphone")
    assert caught.value.code == MIC_UNAVAILABLE
    denied = type("Denied", (_Refusing,), {"error": "Access denied"})
    with pytest.raises(AudioError) as caught:
        start_stream(denied, SPEAKER_UNAVAILABLE, "the output device")
    assert caught.value.code == SPEAKER_UNAVAILABLE


def test_a_denial_on_either_attempt_counts() -> None:
    from convai_tui.audio.backend import start_stream
    from convai_tui.audio.errors import MIC_PERMISSION_DENIED, AudioError

    class MonoDenied:
        def __init__(self, *, channels: int, **options: object) -> None:
            if channels == 1:
                raise RuntimeError("Error opening InputStream: Permission denied")
            raise RuntimeError("Error opening InputStream: Invalid number of channels")

    with pytest.raises(AudioError) as caught:
        start_stream(MonoDenied, "audio.mic_unavailable", "the microphone")
    assert caught.value.code == MIC_PERMISSION_DENIED
    assert "Permission denied" in caught.value.message
