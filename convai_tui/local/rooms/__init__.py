"""The stand-in's rooms and sessions: concurrency slots and their release, and
multi-character rooms (roster, epochs, acks, directory, policy, flags, one bot per character).
Imports `character`, `sfu` and `faults`.
"""
