"""The session core: one Convai session (connect, room, RTVI, reconnects) turned into typed
events on a bus. Front ends drive it through `api.port.SessionPort` and read its events; it never
imports Textual, Rich or any front end (import contracts in pyproject.toml).

Floors, top to bottom (each imports only the floors below it): `session`, `inbound`,
`room_join` · `multi` · `connect` | `conversation` · `link` | `rtvi` · `settings` | `api` ·
`errors`.
"""
