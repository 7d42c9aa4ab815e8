"""``lstm-pipeline``: argument parsing and output on top of the flows (``main.main``).

Nothing imports this package; it imports the flows, never the other way round.
"""
