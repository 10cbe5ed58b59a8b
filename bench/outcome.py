"""How every bench ends: its figures on stdout when the run was clean, else its errors on
stderr, a non-zero exit status and no figure at all (a figure from a broken run is a lie).

A helper module, not a bench. Exit statuses: 0 clean, 1 the run had errors (an uncaught
exception also exits 1, and prints no figure since they are only printed at the end),
3 the third-party samples the bench reads are absent.
"""

from __future__ import annotations

import argparse
import sys

EXIT_ERRORS = 1
EXIT_NO_SAMPLES = 3


class Outcome:
    """Figure lines and errors of one run, held until :meth:`finish`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lines: list[str] = []
        self.errors: list[str] = []

    def figure(self, line: str) -> None:
        self.lines.append(line)

    def error(self, message: str) -> None:
        self.errors.append(message)

    def check(self, ok: bool, message: str) -> bool:
        """Record ``message`` as an error unless ``ok``; returns ``ok``."""
        if not ok:
            self.error(message)
        return ok

    def finish(self) -> int:
        """Print the figures (clean run) or the errors (stderr); the exit status."""
        if self.errors:
            print(
                f"{self.name}: FAILED with {len(self.errors)} error(s), no figures printed:",
                file=sys.stderr,
            )
            for message in self.errors[:20]:
                print(f"  {message}", file=sys.stderr)
            if len(self.errors) > 20:
                print(f"  ... and {len(self.errors) - 20} more", file=sys.stderr)
            return EXIT_ERRORS
        for line in self.lines:
            print(line, flush=True)
        return 0


def no_samples(name: str, what: str, path: object) -> int:
    """Say that the third-party samples are absent (stderr); the exit status for it."""
    print(
        f"{name}: {what} not found at {path} "
        "(set BANTIN_SAMPLES_DIR or put shared/research-samples beside the repo)",
        file=sys.stderr,
    )
    return EXIT_NO_SAMPLES


def add_tiny(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--tiny", action="store_true", help=f"a run of a few seconds ({what}), for the tests"
    )


def apply_sizes(args: argparse.Namespace, sizes: dict[str, tuple[object, object]]) -> None:
    """Each size left unset (None) gets its normal value, or its tiny one under ``--tiny``."""
    for name, (normal, tiny) in sizes.items():
        if getattr(args, name) is None:
            setattr(args, name, tiny if args.tiny else normal)
