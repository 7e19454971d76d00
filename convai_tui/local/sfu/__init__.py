"""The stand-in's LiveKit server: finding or building `livekit-server`, its config, the
child process (start, pause, resume), the signal proxy in front of it and the API backend.
Imports nothing else of the stand-in but `faults`.
"""
