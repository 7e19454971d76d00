"""The command line: `convai-tui` and its subcommands (parser, room flags, demo, config,
setup, completion, log set-up). The one front end that wires the others: only `cli` imports
`ui`, `headless`, `doctor`, `sessionlog` and `local`, and it builds `SessionSettings` from
`Settings` for the core; the argparse namespace goes no further than this package.
"""
