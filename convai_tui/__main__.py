from convai_tui.cli.main import entry

entry()
