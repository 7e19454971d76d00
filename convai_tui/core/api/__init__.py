"""What a front end sees of a session: the events and their JSON codec, the bus, the
`SessionPort` interface, the state machine's states, the counters and the diagnostics snapshot.
Imports only `core.errors`.
"""
