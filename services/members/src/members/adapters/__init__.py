"""Adapters of the members service: the gRPC servicer and the MongoDB repository."""
