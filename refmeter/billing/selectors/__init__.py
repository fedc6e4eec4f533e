"""Billing reads, each scoped to the units the user may see."""
