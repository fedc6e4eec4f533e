"""The audit record: who changed what, when, from what to what, and why."""
