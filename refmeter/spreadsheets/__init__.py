"""Spreadsheets and printable lists: safe reading of what customers send, the forms staff use."""
