"""convai-tui: a terminal session monitor and client for Convai characters."""

__version__ = "0.1.0"
