"""Thin adapters of the loyalty service: gRPC handlers, the PostgreSQL repository, consumers, clients."""
