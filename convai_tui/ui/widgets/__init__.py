"""Widgets of the monitor; each renders one part of `MonitorModel` and holds no session logic."""
