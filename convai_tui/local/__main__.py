"""``python -m convai_tui.local``: run the local stand-in (same as ``convai-tui local-server``)."""

from convai_tui.local.server import main
from convai_tui.runtime.shutdown import exit_process

if __name__ == "__main__":
    exit_process(main())
