"""The campaigns domain: rules with no I/O."""
