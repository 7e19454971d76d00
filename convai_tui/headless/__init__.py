"""The headless front end: JSON lines on stdout for scripts and monitoring, driving a
`SessionPort` it is given, and the target switching of multi-character rooms. No UI, no
transport, no sound card; imported only by `cli`.
"""
