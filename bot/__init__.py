"""The application: configuration, polling, delivery, commands and chat channels."""
