#!/usr/bin/env python3
"""CLI entry: parses arguments, loads the configuration and hands over to :mod:`bot.app`."""

from __future__ import annotations

import sys

from bot.cli import main

if __name__ == "__main__":
    sys.exit(main())
