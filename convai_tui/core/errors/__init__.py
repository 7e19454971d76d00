"""The error catalogue (codes, causes, fixes, checks), `SessionError`/`ConvaiError`,
LiveKit's disconnect reasons mapped to codes, and secret redaction. Imports nothing else of
`core`.
"""
