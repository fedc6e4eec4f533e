"""Demo data: a city like the source's Shaoxing urban service area."""
