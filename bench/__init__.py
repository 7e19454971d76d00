"""Benchmarks for convai-tui against the local stand-in (run with ``bench/run``)."""
