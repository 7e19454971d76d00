"""Process plumbing with no domain: a set of owned asyncio tasks, and process shutdown.
Used by `core` and `local`; imports nothing of convai_tui.
"""
