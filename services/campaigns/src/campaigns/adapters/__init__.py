"""Thin adapters of the campaigns service: gRPC handlers, repository, event consumers."""
