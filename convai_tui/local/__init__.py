"""Local, offline stand-in of Convai's realtime service (a server: it imports no client code).

Entry points: ``LocalStandIn`` (in-process, for tests and ``convai-tui demo``) and
``server_args.add_local_server_arguments`` / ``server.run_local_server`` (the ``local-server``
subcommand).
"""
