"""``python -m convai_tui.local``: run the local stand-in (same as ``convai-tui local-server``)."""

import sys

from convai_tui.local.server import main

if __name__ == "__main__":
    sys.exit(main())
