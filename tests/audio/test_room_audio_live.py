"""A room is heard whole: every character's track plays on the (virtual) speaker, mixed.

The real session core with its audio pipeline, against the stand-in's room bots on a real
livekit-server, in a private PulseAudio (default sink ``spk``, recorded from ``spk.monitor``).
The characters speak in tone voices (``--tts tone``), each in its own frequency band, so the
recording tells who was heard: the target's reply after a switch, nothing of a locally muted
character, and both at once without clipping.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import wave
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import pytest_asyncio

from convai_tui.audio import AudioSettings
from convai_tui.audio.session_media import SessionAudio
from convai_tui.core.api import events as ev
from convai_tui.core.multi.events import MemberStatus, RosterChanged
from convai_tui.core.session import SessionCore
from convai_tui.core.settings.multi_config import CharacterSpec, JoinSettings
from convai_tui.core.settings.retry import RetryPolicy
from convai_tui.core.settings.room_request import RoomRequest
from convai_tui.core.settings.session_settings import SessionSettings
from convai_tui.local.character import speech
from convai_tui.local.character.client_messages import CharacterProfile
from convai_tui.local.faults import Faults
from convai_tui.local.rooms.policy import RoomPolicy
from convai_tui.local.server import LocalStandIn
from convai_tui.local.sfu.server import LiveKitServer
from tests.audio.pulse import SAMPLE_RATE, PulseServer
from tests.integration.standin_client import require_livekit_server
from tests.integration.test_multi_character_live import Watch, of, switch

pytestmark = [
    pytest.mark.audio,
    pytest.mark.integration,
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.serial,
]

ADA, BO = "demo-character", "demo-bo"
WINDOW = SAMPLE_RATE // 20  # 50 ms
HEARD = 0.05
"""A band's RMS (fraction of full scale) that counts as a voice heard; a tone voice beeps at 0.3."""
SILENT = 0.01


@pytest.fixture(scope="module")
def speaker_env(pulse: PulseServer) -> Iterator[PulseServer]:
    yield pulse


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def standin(speaker_env: PulseServer) -> AsyncIterator[LocalStandIn]:
    require_livekit_server()
    server = LocalStandIn(
        faults=Faults(tts="tone"),
        livekit=LiveKitServer(),
        owns_livekit=True,
        cast=[CharacterProfile(BO, "Bo")],
    )
    server.room_policy = RoomPolicy(ready_delay_s=0.05)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


class Recording:
    """``parecord`` of ``spk.monitor`` while the block runs."""

    def __init__(self, pulse: PulseServer, path: Path) -> None:
        self._pulse = pulse
        self.path = path
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Recording:
        self._process = subprocess.Popen(
            [
                "parecord",
                "--device=spk.monitor",
                "--channels=1",
                f"--rate={SAMPLE_RATE}",
                "--format=s16le",
                "--file-format=wav",
                str(self.path),
            ],
            env={**self._pulse.env, "PATH": "/usr/bin:/bin"},
        )
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGINT)
        self._process.wait(timeout=10)

    def samples(self) -> npt.NDArray[np.float64]:
        with wave.open(str(self.path)) as wav:
            frames = wav.readframes(wav.getnframes())
        return np.frombuffer(frames, dtype=np.int16).astype(np.float64) / 32768.0


def band_rms(
    samples: npt.NDArray[np.float64], band: tuple[float, float]
) -> npt.NDArray[np.float64]:
    """Per 50 ms window, the RMS of what lies in ``band`` (±5 %), as a fraction of full scale."""
    count = samples.size // WINDOW
    if count == 0:
        return np.zeros(0)
    windows = samples[: count * WINDOW].reshape(count, WINDOW)
    spectrum = np.fft.rfft(windows * np.hanning(WINDOW), axis=1)
    freqs = np.fft.rfftfreq(WINDOW, 1 / SAMPLE_RATE)
    low, high = band
    inside = (freqs >= 0.95 * low) & (freqs <= 1.05 * high)
    # Parseval with the Hann window's power gain (3/8): mean square of the band's content.
    power = 2.0 * (np.abs(spectrum[:, inside]) ** 2).sum(axis=1) / (WINDOW**2 * 0.375)
    return np.asarray(np.sqrt(power), dtype=np.float64)


ADA_BAND = speech.voice_for(ADA).tone_band_hz
BO_BAND = speech.voice_for(BO).tone_band_hz


def audio_core(
    standin: LocalStandIn, room: RoomRequest, end_user: str, audio: AudioSettings
) -> SessionCore:
    settings = SessionSettings(
        connect_url=standin.connect_url,
        api_key=standin.api_key,
        character_id=ADA,
        end_user_id=end_user,
        room=room,
        retry=RetryPolicy(connect_delays_s=(0.0,), max_reconnect_attempts=1),
    )
    core = SessionCore(settings)
    core.attach_media(SessionAudio(audio, emit=core.emit, report=core.report_problem))
    return core


async def room_with_audio(standin: LocalStandIn) -> tuple[SessionCore, Watch]:
    core = audio_core(
        standin,
        RoomRequest(characters=(CharacterSpec(ADA), CharacterSpec(BO))),
        "listener",
        AudioSettings(),
    )
    watch = Watch(core)
    await core.start()
    await watch.until(of(ev.BotReady))
    await watch.until(
        lambda e: (
            isinstance(e, RosterChanged)
            and len(e.members) == 2
            and all(m.status is MemberStatus.READY for m in e.members)
        )
    )
    await asyncio.sleep(1.0)  # both characters' tracks subscribed and playing silence
    return core, watch


HOLE_MIN = SAMPLE_RATE // 500  # 2 ms
LOUD = 0.05


def device_underflows(core: SessionCore) -> int:
    """How often the output device ran dry so far, by the client's own count."""
    audio = core.diagnostics().get("audio") or {}
    return int(audio.get("speaker_device_underflows", 0))


def hole_windows(samples: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Per 50 ms window of ``band_rms``: whether it or a neighbour holds a hole the sound server
    played into a sound — 2 ms or more of exact digital zeros with loud audio on both sides.

    A loaded 2-core test machine can leave the whole device path (PortAudio's thread, libpulse's,
    the daemon) unscheduled for 26-400 ms while the device buffer holds 20 ms (traced:
    docs/BENCHMARKS.md, "Dropouts on a loaded machine"); the server then plays such a hole, and
    its edges put energy in every band, Ada's too. Decoded speech and the codec's silence are
    never exact zeros for that long between two loud samples."""
    count = samples.size // WINDOW
    marked = np.zeros(count, dtype=bool)
    zero = samples == 0.0
    edges = np.flatnonzero(np.diff(zero.astype(np.int8)))
    starts = edges[~zero[edges]] + 1  # first zero of each run
    for start in starts:
        stop = start + int(np.argmax(~zero[start:])) if (~zero[start:]).any() else samples.size
        before = np.abs(samples[max(0, start - 120) : start])
        after = np.abs(samples[stop : stop + 120])
        if stop - start >= HOLE_MIN and before.size and after.size:
            if before.max() > LOUD and after.max() > LOUD:
                first, last = start // WINDOW, min(count - 1, (stop - 1) // WINDOW)
                marked[max(0, first - 1) : last + 2] = True
    return marked[:count]


async def say(core: SessionCore, watch: Watch, text: str) -> None:
    since = watch.mark()
    outcome = await core.send_text(text)
    assert outcome.status == "sent", outcome
    await watch.next(of(ev.TurnCompleted), since)


async def test_the_first_then_the_second_character_are_heard(
    standin: LocalStandIn, speaker_env: PulseServer, tmp_path: Path
) -> None:
    core, watch = await room_with_audio(standin)
    try:
        with Recording(speaker_env, tmp_path / "first.wav") as first:
            await say(core, watch, "hello first one")
            await asyncio.sleep(1.5)
        await switch(core, watch, "2")
        underflows = device_underflows(core)
        with Recording(speaker_env, tmp_path / "second.wav") as second:
            await say(core, watch, "can you hear me now")
            await asyncio.sleep(1.5)
        ran_dry = device_underflows(core) > underflows
        roster = core.room.roster
        assert roster is not None
        bo_identity = roster.members[1].participant_identity
    finally:
        await core.close()
    # Its own audio lit its speaking indicator (participant_levels), with its level.
    heard_speaking = [
        e for e in watch.seen if isinstance(e, ev.ParticipantLevels) and bo_identity in e.speaking
    ]
    # Its loudest reading: the first one can fall on the start of a beep.
    assert heard_speaking and max(e.levels[str(bo_identity)] for e in heard_speaking) > -30.0
    ada_first = band_rms(first.samples(), ADA_BAND)
    samples = second.samples()
    bo, ada = band_rms(samples, BO_BAND), band_rms(samples, ADA_BAND)
    # Only when the client saw its device run dry are the windows around a played hole set
    # aside; at least half the recording is still checked, and all of it must be free of Ada.
    holes = hole_windows(samples) if ran_dry else np.zeros(ada.size, dtype=bool)
    print(
        f"first then second: ada band max {ada_first.max():.3f}; after the switch peak "
        f"{np.abs(samples).max():.3f}, bo band max {bo.max():.3f}, ada band max {ada.max():.4f}"
        f"; {int(holes.sum())} windows around device holes set aside"
    )
    assert ada_first.max() > HEARD
    assert bo.max() > HEARD
    assert (~holes).sum() >= ada.size // 2, f"{int(holes.sum())} of {ada.size} windows with holes"
    assert ada[~holes].max() < SILENT


async def test_a_locally_muted_character_is_not_heard_and_the_other_is(
    standin: LocalStandIn, speaker_env: PulseServer, tmp_path: Path
) -> None:
    core, watch = await room_with_audio(standin)
    try:
        roster = core.room.roster
        assert roster is not None
        ada_identity = roster.members[0].participant_identity
        assert ada_identity
        core.room.set_local_mute(ada_identity, True)
        await switch(core, watch, "2")
        with Recording(speaker_env, tmp_path / "bo.wav") as heard:
            await say(core, watch, "only you please")
            await asyncio.sleep(1.5)
        await switch(core, watch, "1")
        with Recording(speaker_env, tmp_path / "ada.wav") as muted:
            await say(core, watch, "and now the muted one")
            await asyncio.sleep(1.5)
        ada_lines = [
            e for e in watch.seen if isinstance(e, ev.TranscriptReceived) and e.role == "character"
        ]
        assert any("muted one" in e.text for e in ada_lines)  # it did answer
    finally:
        await core.close()
    bo = band_rms(heard.samples(), BO_BAND)
    ada = band_rms(muted.samples(), ADA_BAND)
    print(f"muted first: bo band max {bo.max():.3f}, muted ada band max {ada.max():.4f}")
    assert bo.max() > HEARD
    assert ada.max() < SILENT


async def test_two_characters_at_once_are_both_heard_without_clipping(
    standin: LocalStandIn, speaker_env: PulseServer, tmp_path: Path
) -> None:
    core, watch = await room_with_audio(standin)
    try:
        with Recording(speaker_env, tmp_path / "both.wav") as recording:
            since = watch.mark()
            # The first reply streams its text for longer, so its speech starts about when the
            # second's does (a reply's audio plays once its text has streamed).
            first = await core.send_text("one two three four five six seven eight nine ten")
            assert first.status == "sent", first
            assert await core.room.set_target("2") is None
            await watch.next(
                lambda e: isinstance(e, ev.TranscriptReceived) and e.role == "character", since
            )
            second = await core.send_text("hi")
            assert second.status == "sent", second
            await watch.next(of(ev.TurnCompleted), watch.mark())
            await asyncio.sleep(2.0)
    finally:
        await core.close()
    samples = recording.samples()
    ada, bo = band_rms(samples, ADA_BAND), band_rms(samples, BO_BAND)
    both = np.minimum(ada, bo)
    peak = float(np.abs(samples).max())
    print(
        f"both at once: peak {peak:.3f}, ada max {ada.max():.3f}, bo max {bo.max():.3f}, "
        f"windows with both {int((both > HEARD).sum())}, best {both.max():.3f}"
    )
    assert peak < 1.0
    assert both.max() > HEARD


async def test_a_human_joined_by_shared_key_hears_the_other_speak(
    standin: LocalStandIn, speaker_env: PulseServer, tmp_path: Path
) -> None:
    # Both clients share the one PulseAudio: the owner's microphone is `mic` (speech is played
    # into it), the guest's is muted; the speaker `spk` carries the mix of both clients'
    # playback, and only the guest plays the owner's voice (nobody plays their own).
    owner = audio_core(
        standin,
        RoomRequest(characters=(CharacterSpec(ADA),), shared_session_key="porch"),
        "owner",
        AudioSettings(),
    )
    guest = audio_core(
        standin,
        RoomRequest(join=JoinSettings(shared_session_key="porch")),
        "guest",
        AudioSettings(mute_on_start=True),
    )
    speech_file = tmp_path / "speech.wav"
    espeak = await asyncio.create_subprocess_exec(
        "espeak-ng", "-w", str(speech_file), "Can you hear me across the room?"
    )
    assert await espeak.wait() == 0
    owner_watch, guest_watch = Watch(owner), Watch(guest)
    try:
        await owner.start()
        await owner_watch.until(of(ev.BotReady))
        await guest.start()
        await guest_watch.until(of(ev.BotReady))
        await guest_watch.until(
            lambda e: isinstance(e, ev.ParticipantJoined) and e.kind == "remote_player"
        )
        await asyncio.sleep(1.0)  # the guest subscribed to the owner's microphone
        with Recording(speaker_env, tmp_path / "guest.wav") as recording:
            await asyncio.sleep(0.3)
            player = await asyncio.create_subprocess_exec(
                "paplay", "--device=mic", str(speech_file), env={**speaker_env.env}
            )
            await player.wait()
            await asyncio.sleep(1.0)
    finally:
        await guest.close()
        await owner.close()
    samples = recording.samples()
    voice = band_rms(samples, (300.0, 3000.0))
    print(f"shared key: peak {np.abs(samples).max():.3f}, voice band max {voice.max():.3f}")
    assert voice.max() > HEARD
