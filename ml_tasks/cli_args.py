"""Argument types shared by every command-line entry point."""

from __future__ import annotations

import argparse
from datetime import date


def iso_date(text: str) -> date:
    """``YYYY-MM-DD`` -> date, with an argparse error that names the bad value."""
    try:
        return date.fromisoformat(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from err
