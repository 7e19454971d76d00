from convai_tui.cli import entry

entry()
