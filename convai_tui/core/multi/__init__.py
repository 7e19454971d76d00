"""Multi-character rooms: the roster and its members, roster commands and their events,
and the room session that drives them. Imports `connect`, `rtvi`, `settings`, `api`, `errors`.
"""
