"""`convai-tui doctor`: checks of the configuration, the hosts, LiveKit and the audio
devices, and the report they make. Uses `core` and `audio`; imported only by `cli`.
"""
