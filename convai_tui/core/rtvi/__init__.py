"""The RTVI wire vocabulary: message parsing and building, controls, acks and the outbox,
the handshake, teardown and bot-ready waiting. Imports `settings`, `api` and `errors`.
"""
