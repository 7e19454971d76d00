"""The monitor's picture of a session as plain data: `reducer.MonitorModel.apply` folds
each session event into `state`, `views`, `link` and `room`. Imports no widget and no
Textual.
"""
