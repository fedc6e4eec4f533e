"""Signed anti-counterfeit QR labels: issuing, printing and scanning them."""
