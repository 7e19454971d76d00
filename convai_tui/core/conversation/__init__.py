"""The conversation on top of the room: transcript lines, user lines, turn timing, server
messages and notices, the user's input and the queue for text typed before the character is
ready. Imports `rtvi`, `api` and `errors` (and `runtime` for its tasks).
"""
