"""Use cases: validate, ask the directory, assign and store a lead in one transaction."""
