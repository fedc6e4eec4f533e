"""Catching failing reference meters: detection rules, anomaly cases, contact sheets."""
