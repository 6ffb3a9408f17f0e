"""Alembic migrations of the store (run by :func:`dropcopy.store.upgrade`)."""
