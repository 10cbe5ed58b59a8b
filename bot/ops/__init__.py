"""Operations: the bot's HTTP server, health and metrics, logging, leases (which instance does
what), backoff, the admins' alerts and the import schema of backups.
"""
