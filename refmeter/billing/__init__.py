"""Tariffs, monthly billing runs over point-days, final bills, and back-billing."""
