"""Use cases of the loyalty service: they orchestrate the domain, the repository, members and the outbox."""
