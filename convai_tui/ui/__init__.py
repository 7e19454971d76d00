"""The Textual monitor. `app` above `screens` and `commands`, above `widgets`, above the
`model` (a pure reducer of session events) and the small leaves (`registry`, `formatting`,
`messages`, `safety`, `command_list`, `heap`: what the garbage collector may skip). Never calls
httpx or LiveKit: it drives the session only through `core.api.port.SessionPort`.
"""
