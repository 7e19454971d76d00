"""Getting a room from Convai: `POST /connect` and `/disconnect` (the room lease), the
REST client for character metadata, and the retry loop with its backoff. Imports `link` for the
transport's connect, `settings`, `api` and `errors`.
"""
