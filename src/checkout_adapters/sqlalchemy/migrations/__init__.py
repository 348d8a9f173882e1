"""Alembic migrations of the checkout's schema; :mod:`.migrate` runs them from Python."""
