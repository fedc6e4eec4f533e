"""Transformer-area line loss with each point's energy counted in its own area."""
