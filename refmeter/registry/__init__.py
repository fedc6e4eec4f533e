"""Customers, device types, transformer areas, access points, groups and their points."""
