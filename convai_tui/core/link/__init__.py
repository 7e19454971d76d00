"""The LiveKit link: the transport (room, data channel), participants, the media hook,
WebRTC stats sampling and the link watchdog. Imports `settings`, `api`, `errors` (and `runtime`).
"""
