"""The members domain: validation and normalisation rules with no I/O."""
