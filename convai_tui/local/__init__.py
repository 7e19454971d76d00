"""Local, offline stand-in of Convai's realtime service (a server: it imports no client code).

Entry points: ``LocalStandIn`` (in-process, for the tests) and
``args.add_local_server_arguments`` / ``server.run_local_server`` (the ``local-server``
subcommand, which `convai-tui demo` starts as a child process).

Folders, top to bottom: `server`/`args` · `http` (routes) · `state` · `rooms` · `character`
(the bots) · `sfu` (livekit-server) · `faults`. It imports nothing of the client's core, audio
pipeline or UI, so what it does is its own reading of Convai's docs, not the client's.
"""
