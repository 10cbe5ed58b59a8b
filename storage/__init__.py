"""Persistence: the only package where SQLAlchemy appears. Never imports ``bot``."""
