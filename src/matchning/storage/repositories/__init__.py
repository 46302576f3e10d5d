"""Repositories: every query of the service is built here, as a SQLAlchemy `Select`."""
