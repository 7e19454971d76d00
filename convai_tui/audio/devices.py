"""Audio device listing (for ``convai-tui devices``) and ``--input-device``/``--output-device`` lookup."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from .backend import load_sounddevice, portaudio_error_message
from .errors import MIC_UNAVAILABLE, SPEAKER_UNAVAILABLE, AudioError

DeviceKind = Literal["input", "output"]


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """One PortAudio device as ``convai-tui devices`` shows it."""

    index: int
    name: str
    host_api: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    is_default_input: bool
    is_default_output: bool

    def has(self, kind: DeviceKind) -> bool:
        """Whether the device can be used for ``kind``."""
        channels = self.max_input_channels if kind == "input" else self.max_output_channels
        return channels > 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _code_for(kind: DeviceKind) -> str:
    return MIC_UNAVAILABLE if kind == "input" else SPEAKER_UNAVAILABLE


def parse_devices(
    raw_devices: Sequence[Mapping[str, Any]],
    host_apis: Sequence[Mapping[str, Any]],
    default_input: int | None,
    default_output: int | None,
) -> list[DeviceInfo]:
    """Turn ``sounddevice.query_devices()``-shaped dicts into :class:`DeviceInfo` rows."""
    result: list[DeviceInfo] = []
    for position, dev in enumerate(raw_devices):
        index = int(dev.get("index", position))
        api_index = int(dev.get("hostapi", -1))
        api_name = str(host_apis[api_index]["name"]) if 0 <= api_index < len(host_apis) else "?"
        result.append(
            DeviceInfo(
                index=index,
                name=str(dev.get("name", "")),
                host_api=api_name,
                max_input_channels=int(dev.get("max_input_channels", 0)),
                max_output_channels=int(dev.get("max_output_channels", 0)),
                default_samplerate=float(dev.get("default_samplerate", 0.0)),
                is_default_input=index == default_input,
                is_default_output=index == default_output,
            )
        )
    return result


def _default_pair(sd: Any) -> tuple[int | None, int | None]:
    try:
        pair = list(sd.default.device)
    except Exception:
        return None, None

    def norm(value: Any) -> int | None:
        try:
            number = int(value)
        except (TypeError, ValueError):
            return None
        return number if number >= 0 else None

    return norm(pair[0]) if pair else None, norm(pair[1]) if len(pair) > 1 else None


def list_devices() -> list[DeviceInfo]:
    """Every PortAudio device; raises ``AudioError(audio.mic_unavailable)`` without PortAudio."""
    sd = load_sounddevice(MIC_UNAVAILABLE)
    try:
        raw = list(sd.query_devices())
        apis = list(sd.query_hostapis())
    except Exception as exc:  # PortAudioError is not importable without PortAudio
        raise AudioError(
            MIC_UNAVAILABLE, f"Cannot list audio devices: {portaudio_error_message(exc)}"
        ) from None
    default_in, default_out = _default_pair(sd)
    return parse_devices(raw, apis, default_in, default_out)


def resolve_device(
    spec: int | str | None,
    kind: DeviceKind,
    devices: Sequence[DeviceInfo] | None = None,
) -> int | None:
    """The device index for a user's ``spec``, or None for the system default.

    ``spec`` is None/""/"default" (system default), an index (int or digits), or a
    case-insensitive name substring; an exact name wins over a substring, then the lowest index.
    Only devices with channels of ``kind`` qualify. Raises ``AudioError`` with
    ``audio.mic_unavailable`` / ``audio.speaker_unavailable`` when nothing matches.
    """
    code = _code_for(kind)
    if spec is None or (isinstance(spec, str) and spec.strip().lower() in ("", "default")):
        return None
    pool = list(devices) if devices is not None else list_devices()
    usable = [d for d in pool if d.has(kind)]
    if isinstance(spec, int) or (isinstance(spec, str) and spec.strip().isdigit()):
        wanted = int(spec)
        for dev in pool:
            if dev.index == wanted:
                if not dev.has(kind):
                    raise AudioError(code, f"Device {wanted} ({dev.name}) has no {kind} channels.")
                return dev.index
        raise AudioError(code, f"No audio device with index {wanted}.{_choices(usable, kind)}")
    needle = spec.strip().lower()
    exact = [d for d in usable if d.name.lower() == needle]
    if exact:
        return exact[0].index
    partial = [d for d in usable if needle in d.name.lower()]
    if partial:
        return partial[0].index
    raise AudioError(code, f"No {kind} device matches {spec!r}.{_choices(usable, kind)}")


def _choices(usable: Sequence[DeviceInfo], kind: DeviceKind) -> str:
    if not usable:
        return f" There are no {kind} devices."
    names = ", ".join(f"{d.index}: {d.name}" for d in usable[:8])
    return f" Available: {names}."
