"""Persistence: SQLAlchemy models and repositories, one module per feature."""
