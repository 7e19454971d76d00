"""Parsing what the server sends (all three shapes) and refusing what LiveKit would drop."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convai_tui.core.errors.error import ConvaiError
from convai_tui.core.rtvi import protocol


def parse(obj: object) -> protocol.InboundMessage:
    return protocol.parse_inbound(json.dumps(obj).encode())


def test_form_a_top_level() -> None:
    msg = parse({"label": "rtvi-ai", "type": "bot-llm-text", "data": {"text": "Hi"}})
    assert (msg.type, msg.data, msg.wrapped) == ("bot-llm-text", {"text": "Hi"}, False)


def test_form_a_without_label_or_data() -> None:
    assert parse({"type": "bot-ready"}).data == {}


def test_form_b_wrapped() -> None:
    msg = parse(
        {
            "label": "rtvi-ai",
            "type": "server-message",
            "data": {"type": "user-idle-warning", "remaining_seconds": 300},
        }
    )
    assert msg.type == "user-idle-warning" and msg.wrapped
    assert protocol.field_int(msg, "remaining_seconds") == 300


def test_flat_server_response() -> None:
    msg = parse(
        {
            "type": "server-response",
            "event_type": "tts-toggle",
            "status": "success",
            "message": "TTS disabled",
            "extras": {"enabled": False},
        }
    )
    assert msg.type == "server-response"
    assert msg.data["event_type"] == "tts-toggle" and msg.data["extras"] == {"enabled": False}


def test_wrapped_server_response_as_unity_parses_it() -> None:
    msg = parse(
        {
            "type": "server-message",
            "data": {
                "type": "server-response",
                "event_type": "reset-idle-timer",
                "status": "success",
            },
        }
    )
    assert msg.type == "server-response" and msg.data["status"] == "success"


def test_server_response_with_data_object() -> None:
    msg = parse({"type": "server-response", "data": {"event_type": "x", "status": "error"}})
    assert msg.data["status"] == "error"


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"\xff\xfe", "protocol.parse_failed"),
        (b"{not json", "protocol.parse_failed"),
        (b"", "protocol.parse_failed"),
        (b"[1,2]", "protocol.message_invalid"),
        (b'"text"', "protocol.message_invalid"),
        (b'{"data": {}}', "protocol.message_invalid"),
        (b'{"type": 5}', "protocol.message_invalid"),
        (b'{"type": "bot-ready", "data": [1]}', "protocol.message_invalid"),
        (b'{"type": "server-message", "data": {}}', "protocol.message_invalid"),
        (b'{"type": "server-message"}', "protocol.message_invalid"),
    ],
)
def test_malformed_messages_become_named_errors(payload: bytes, code: str) -> None:
    with pytest.raises(ConvaiError) as info:
        protocol.parse_inbound(payload)
    assert info.value.error.code == code


def test_typed_field_access_names_the_field() -> None:
    msg = parse({"type": "user-idle-warning", "data": {"remaining_seconds": "soon"}})
    with pytest.raises(ConvaiError) as info:
        protocol.field_int(msg, "remaining_seconds")
    assert info.value.error.code == "protocol.message_invalid"
    assert "remaining_seconds" in info.value.error.message


def test_numbers_as_strings_and_floats_are_accepted() -> None:
    msg = parse({"type": "t", "data": {"a": "42", "b": 7.0, "c": True}})
    assert protocol.field_int(msg, "a") == 42 and protocol.field_int(msg, "b") == 7
    with pytest.raises(ConvaiError):
        protocol.field_int(msg, "c")


def test_actions_as_strings_or_objects() -> None:
    old = parse({"type": "action-response", "data": {"actions": ["wave", "nod"]}})
    new = parse(
        {
            "type": "server-message",
            "data": {
                "type": "action-response",
                "actions": [{"name": "wave"}, {"name": "walk", "target": "door"}],
            },
        }
    )
    assert protocol.action_names(old) == ("wave", "nod")
    assert protocol.action_names(new) == ("wave", "walk → door")


def test_build_message_uses_the_documented_envelope_with_a_fresh_id() -> None:
    a = protocol.build_message("user_text_message", {"text": "hi"})
    b = protocol.build_message("user_text_message", {"text": "hi"})
    assert json.loads(a.payload) == {"type": "user_text_message", "data": {"text": "hi"}}
    assert a.id != b.id
    # No payload: no data key ("Omit for messages with no payload").
    assert json.loads(protocol.build_message("kill-pipeline").payload) == {"type": "kill-pipeline"}
    # The handshake is the RTVI layer's: labelled, with the id bot-ready answers.
    ready = protocol.build_message("client-ready", {"version": "1.2.0"})
    assert json.loads(ready.payload) == {
        "label": "rtvi-ai",
        "type": "client-ready",
        "id": ready.id,
        "data": {"version": "1.2.0"},
    }
    vision = protocol.build_message("vision-status")
    assert json.loads(vision.payload) == {"type": "vision-status", "id": vision.id}


def test_oversize_messages_are_refused_before_sending() -> None:
    protocol.build_message("user_text_message", {"text": "x" * 15_000})
    with pytest.raises(ConvaiError) as info:
        protocol.build_message("user_text_message", {"text": "x" * 15_400})
    assert info.value.error.code == "protocol.message_too_large"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=400)
@given(st.binary(max_size=200))
def test_fuzz_bytes_never_crash(payload: bytes) -> None:
    try:
        protocol.parse_inbound(payload)
    except ConvaiError as exc:
        assert exc.error.code in ("protocol.parse_failed", "protocol.message_invalid")


@settings(max_examples=400)
@given(
    st.sampled_from(
        [
            "bot-llm-text",
            "server-message",
            "server-response",
            "error",
            "user-idle-warning",
            "action-response",
            "bot-emotion",
        ]
    ),
    json_values,
    json_values,
)
def test_fuzz_shapes_never_crash_field_access(msg_type: str, data: object, inner: object) -> None:
    obj: dict[str, object] = {"type": msg_type, "data": data}
    if msg_type == "server-message" and isinstance(data, dict):
        data["type"] = "user-idle-warning"
        data["remaining_seconds"] = inner
    try:
        msg = protocol.parse_inbound(json.dumps(obj).encode())
        protocol.field_str(msg, "text")
        protocol.field_int(msg, "remaining_seconds")
        protocol.field_bool(msg, "fatal", True)
        protocol.action_names(msg)
    except ConvaiError as exc:
        assert exc.error.code in ("protocol.parse_failed", "protocol.message_invalid")
