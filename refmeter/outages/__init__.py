"""Planned outages: every affected point, its customer's contacts, and the notices sent."""
