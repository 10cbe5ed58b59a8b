"""Operations: the bot's HTTP server, health and metrics, logging, secret redaction, leases
(which instance does what), backoff, the admins' alerts and the import schema of backups.
"""
