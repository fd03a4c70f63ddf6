"""Leads rules with no I/O: validation, pipeline stages and assignment choice."""
