"""Chat channels: adapters that turn a platform into the :class:`bot.channels.base.Channel` seam."""
