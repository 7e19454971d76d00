"""One bot turn of the stand-in, in either profile (faults.realism).

lenient: the older sequence (protocol §2.5): echo, bot-llm-*, emotion, an action every second
turn, speech, bot-turn-completed.

strict: the documented "complete turn" (turn-lifecycle-and-message-ordering.md) -- echo then
bot-llm-started, text, bot-llm-stopped, action-response (only with an action_config on
/connect), bot-emotion (only with an emotion_config), bot-tts-started, bot-started-speaking in
both forms (Pipecat's top-level one and the wrapped one with `label` and `response_id`),
visemes during speech, bot-stopped-speaking in both forms, bot-turn-completed with the
optional keys omitted unless set; `metrics` and `turn-trace` when /connect asked for debug.
`--stage-delays` makes each stage (ASR before the final transcript, LLM before its first text,
TTS before the first audio) really spend that long (stage_trace.py reports what was spent). The scripted words
of faults.py block the input (moderation-response), make the character abstain
(llm-no-response) or abort the turn (was_aborted, audio_delivery_failed).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any, Protocol

from convai_tui.local.character import rtvi, speech
from convai_tui.local.character.client_messages import ConversationState
from convai_tui.local.character.personas import requested_action
from convai_tui.local.character.stage_trace import StageTrace
from convai_tui.local.character.voice_track import VoiceTrack
from convai_tui.local.faults import Faults
from convai_tui.runtime.task_set import wait_unless


class Turn:
    """One running bot turn: its task and whether the user barged in."""

    def __init__(self) -> None:
        self.interrupted = asyncio.Event()
        self.task: asyncio.Task[None] | None = None


class CharacterForTurns(Protocol):
    """What a turn needs from the bot (character.py)."""

    state: ConversationState
    request: dict[str, Any]
    character_session_id: str
    turns_completed: int
    asr_spent_ms: float | None

    @property
    def faults(self) -> Faults: ...
    @property
    def strict(self) -> bool: ...
    @property
    def voice(self) -> VoiceTrack: ...
    async def send(self, message: dict[str, Any], to: str | None = None) -> None: ...
    async def after_turn(self) -> None: ...


WORD_INTERVAL_S = 0.025
VISEME_INTERVAL_S = 0.1
VISEME_KEYS = (
    "sil",
    "pp",
    "ff",
    "th",
    "dd",
    "kk",
    "ch",
    "ss",
    "nn",
    "rr",
    "aa",
    "e",
    "ih",
    "oh",
    "ou",
)


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def chunks(reply: str) -> list[str]:
    """Word-sized bot-llm-text chunks whose concatenation is the reply."""
    words = reply.split(" ")
    return [word + " " for word in words[:-1]] + [words[-1]]


def other_punctuation(text: str) -> str:
    """The same words with other punctuation and casing: the service's repeated final."""
    core = text.rstrip(".!?… ")
    core = core[:1].swapcase() + core[1:]
    return core if core != text else core + "."


def _has(text: str | None, word: str) -> bool:
    return bool(word) and text is not None and word.casefold() in text.casefold()


async def run_turn(
    bot: CharacterForTurns,
    turn: Turn,
    previous: Turn | None,
    reply: str,
    echo_text: str | None,
    sender: str | None,
    message_id: str | None,
    heard: str | None,
) -> None:
    """`heard` is what the user said or typed (None for triggers)."""
    if previous is not None and previous.task is not None and not previous.task.done():
        previous.interrupted.set()  # a new user message barges in on the reply being spoken
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await previous.task
    faults, strict = bot.faults, bot.strict
    debug = strict and bool(bot.request.get("debug"))
    trace = StageTrace(f"{bot.character_session_id}:t{bot.turns_completed + 1}")
    if faults.asr_delay_ms > 0 and echo_text is not None:
        trace.begin("asr")
        await trace.spend(faults.asr_delay_ms)
        trace.end("asr")
    if echo_text is not None:
        await send_echo(bot, echo_text, sender, message_id)
    elif bot.asr_spent_ms is not None:  # a voice turn: its STT ran before the transcripts
        trace.segments_ms["asr"], bot.asr_spent_ms = bot.asr_spent_ms, None
    if strict and _has(heard, faults.moderation_word):
        # Blocked input: the verdict and nothing else (the docs show no turn after it).
        await bot.send(
            rtvi.form_b(
                "moderation-response",
                result=False,
                user_input=heard,
                reason="Inappropriate language",
            )
        )
        return
    tts_mode = faults.tts if bot.state.tts_enabled else "none"
    # Synthesis starts now so the audio is ready by the time the text has streamed.
    speech_task = asyncio.ensure_future(speech.synthesize(reply, tts_mode, bot.voice.persona))
    try:
        await bot.send(rtvi.form_a("bot-llm-started"))
        trace.event("llm_started")
        trace.begin("llm")
        await trace.spend(faults.llm_delay_ms)
        if strict and _has(heard, faults.no_response_prompt):
            await bot.send(rtvi.form_a("bot-llm-stopped"))
            await bot.send(rtvi.form_b("llm-no-response", reason="abstain"))
            return
        for index, chunk in enumerate(chunks(reply)):
            if turn.interrupted.is_set():
                break
            if index:
                await asyncio.sleep(WORD_INTERVAL_S)
            await bot.send(rtvi.form_a("bot-llm-text", {"text": chunk}))
            if not index:
                trace.end("llm")
                trace.event("llm_first_text")
        await bot.send(rtvi.form_a("bot-llm-stopped"))
        trace.event("llm_stopped")
        if debug and (llm_metrics := trace.metrics("llm")) is not None:
            await bot.send(llm_metrics)
        if not turn.interrupted.is_set():
            await _actions_and_emotion(bot, heard)
            pcm = await wait_unless(speech_task, turn.interrupted)
            if pcm is not None and pcm.size:
                await speak(bot, pcm, turn, trace)
        if debug:
            if (tts_metrics := trace.metrics("asr", "tts")) is not None:
                await bot.send(tts_metrics)
            await bot.send(trace.turn_trace(canceled=turn.interrupted.is_set()))
        completed: dict[str, Any] = {"was_interrupted": turn.interrupted.is_set()}
        if strict and _has(heard, faults.abort_word) and not turn.interrupted.is_set():
            completed.update(was_aborted=True, error_reason="audio_delivery_failed")
        await bot.send(rtvi.form_b("bot-turn-completed", **completed))
    finally:
        speech_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await speech_task
    bot.turns_completed += 1
    await bot.after_turn()


async def _actions_and_emotion(bot: CharacterForTurns, heard: str | None) -> None:
    if not bot.strict:
        await bot.send(rtvi.form_b("bot-emotion", emotion="happy", scale=2))
        if bot.turns_completed % 2 == 0:
            await bot.send(rtvi.form_b("action-response", actions=[{"name": "wave"}]))
        return
    config = bot.request.get("action_config")
    if isinstance(config, dict):
        actions = config.get("actions") or ["Wave"]
        # The action the user asked for; else the first (unless only asked-for ones are done).
        chosen = requested_action(heard or "", list(actions))
        if chosen is None and bot.faults.actions_when_asked:
            actions = []
        first = chosen if chosen is not None else (actions[0] if actions else None)
        name = first.get("value") if isinstance(first, dict) else first
        if first is not None:
            action: dict[str, Any] = {"name": str(name)}
            objects = config.get("objects")
            if isinstance(objects, list) and objects and isinstance(objects[0], dict):
                action["target"] = objects[0].get("name")  # omitted when unset, as documented
            await bot.send(rtvi.form_b("action-response", actions=[action]))
    if isinstance(bot.request.get("emotion_config"), dict):
        await bot.send(rtvi.form_b("bot-emotion", emotion="happy", scale=2))


async def send_echo(
    bot: CharacterForTurns, text: str, sender: str | None, message_id: str | None
) -> None:
    await bot.send(rtvi.form_a("user-started-speaking"))
    await bot.send(
        rtvi.form_a(
            "user-transcription",
            {"text": text, "final": True, "user_id": sender or "", "timestamp": now_iso()},
        )
    )
    await bot.send(rtvi.form_a("user-stopped-speaking"))
    fields: dict[str, Any] = {"text": text}
    if message_id:
        fields["message_id"] = message_id
    await bot.send(rtvi.form_b("final-user-transcription", **fields))
    if bot.strict:  # the service repeats the final, punctuated its own way
        await bot.send(rtvi.form_b("final-user-transcription", text=other_punctuation(text)))


async def speak(
    bot: CharacterForTurns, pcm: speech.Pcm, turn: Turn, trace: StageTrace | None = None
) -> None:
    strict = bot.strict
    response_id = f"{bot.character_session_id}:r{bot.turns_completed + 1}"
    await bot.send(rtvi.form_a("bot-tts-started"))
    if trace is not None:
        trace.event("tts_started")
        trace.begin("tts")
        await trace.spend(bot.faults.tts_delay_ms)
        trace.end("tts")
        trace.event("bot_started_speaking")
    if strict:
        await bot.send(rtvi.form_a("bot-started-speaking"))
        await bot.send(
            rtvi.form_b("bot-started-speaking", label=rtvi.LABEL, response_id=response_id)
        )
    else:
        await bot.send(rtvi.form_b("bot-started-speaking"))
    visemes = asyncio.ensure_future(_visemes(bot)) if strict else None
    try:
        await bot.voice.play(pcm, turn.interrupted)
    finally:
        if visemes is not None:
            visemes.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await visemes
    await bot.send(rtvi.form_a("bot-tts-stopped"))
    if strict:
        await bot.send(rtvi.form_a("bot-stopped-speaking"))
        await bot.send(
            rtvi.form_b("bot-stopped-speaking", label=rtvi.LABEL, response_id=response_id)
        )
    else:
        await bot.send(rtvi.form_b("bot-stopped-speaking"))


async def _visemes(bot: CharacterForTurns) -> None:
    """Viseme frames while the character speaks ("sent frequently during bot speech")."""
    frame = 0
    while True:
        open_mouth = 0.2 + 0.6 * (frame % 3 == 1)
        weights = dict.fromkeys(VISEME_KEYS, 0.0)
        weights["aa"], weights["pp"] = round(open_mouth, 2), round(0.8 - open_mouth, 2)
        await bot.send(rtvi.form_b("visemes", visemes=weights))
        frame += 1
        await asyncio.sleep(VISEME_INTERVAL_S)
