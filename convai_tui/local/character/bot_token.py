"""The LiveKit token a stand-in bot joins its room with (single- and multi-character alike)."""

from __future__ import annotations

from livekit import api

from convai_tui.local.sfu.backend import LiveKitBackend


def bot_token(
    backend: LiveKitBackend, *, room: str, identity: str, name: str, metadata: str
) -> str:
    """An agent participant that may publish audio and data and subscribe to the client."""
    return (
        api.AccessToken(backend.api_key, backend.api_secret)
        .with_identity(identity)
        .with_name(name)
        .with_kind("agent")
        .with_metadata(metadata)
        .with_grants(
            api.VideoGrants(
                room_join=True,
                room=room,
                can_publish=True,
                can_subscribe=True,
                can_publish_data=True,
            )
        )
        .to_jwt()
    )
