"""Loyalty rules with no I/O: order validation and fingerprints, programmes and their earn rules."""
