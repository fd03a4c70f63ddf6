"""Thin adapters of the reporting service: gRPC handlers, repository, consumers, members client."""
