"""Storage: engine and session factory, tables, repositories. The only layer that speaks SQL."""
