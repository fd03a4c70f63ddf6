"""The loyalty service: orders (the purchase ledger), points accounts, the points ledger and lots."""
