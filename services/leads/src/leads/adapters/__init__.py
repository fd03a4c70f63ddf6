"""I/O at the edges: the gRPC servicer, the PostgreSQL repository, the members directory client."""
