"""The offline demo: ``runner`` (``run_bot.py demo``), ``portal`` (the simulated portal it polls)
and ``site/`` (the portal's bundled articles and the demo's sources and topics)."""
