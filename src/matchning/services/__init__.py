"""Use cases. Each function takes a `Context` and owns no transaction: the surface commits."""
