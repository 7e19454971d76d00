"""`convai-tui eval`: a scenario's turns played on many sessions at once, each turn classed
against its expectation and latency target, a summary, JSON and JUnit reports and a baseline
comparison. A front end beside `headless`: it drives `SessionPort`s the cli builds (in-process,
no subprocess per session) and may import `core`, `audio` (the file-fed microphone) and
`config`; never `ui`. Imported only by `cli`.
"""
