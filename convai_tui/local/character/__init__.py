"""The stand-in's character bot: one LiveKit participant that speaks RTVI as Convai's
pipeline does (handshake, turns, speech and voice, the strict profile's realism, the end of a
session). Imports `sfu` and the stand-in's `faults`.
"""
