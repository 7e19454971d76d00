import sys

from convai_tui.cli import main

sys.exit(main())
