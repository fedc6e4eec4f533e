"""The managers' dashboard: one page over every capability."""
