"""Process plumbing with no domain: a set of owned asyncio tasks, process shutdown and its
last-resort deadline, and native stderr kept off a full-screen UI.
Used by `core`, `local` and the CLI; imports nothing of convai_tui.
"""
