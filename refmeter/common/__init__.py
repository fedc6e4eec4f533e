"""Shared value helpers: money, energy, periods, text normalisation, tables. Imports no app."""
