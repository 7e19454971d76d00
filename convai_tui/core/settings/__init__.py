"""What a session is told to do: `SessionSettings`, connect options, the retry policy,
multi-character configuration and the room part of the connect request. Plain data: imports
only `core.errors`; no network, LiveKit or sound card.
"""
