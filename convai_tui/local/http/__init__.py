"""The stand-in's HTTP routes: the public connect API (`/connect`, `/disconnect`,
`/character/get`) with its request validation, and the loopback-only admin routes that inject
faults.
"""
