"""The session log and the tools that read it: the writer (events as JSON lines), replay
(a log back into the monitor's events) and `report` (a text summary and an SVG of the Link
view). No network, LiveKit or sound card.
"""
