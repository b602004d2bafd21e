"""A one-line progress bar for the commands' long steps (a kiosk's first sync, a FHIR export)."""

from __future__ import annotations

import sys
from typing import Any

import click

__all__ = ["ProgressBar"]


class ProgressBar:
    """A one-line progress bar on stderr, redrawn in place when stderr is a terminal."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.tty = sys.stderr.isatty()
        self.shown = ""

    def __call__(self, progress: Any) -> None:
        records, total = progress.records, progress.total
        if total:
            done = min(records, total)
            filled = int(30 * done / total)
            line = f"{self.label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total} записей"
        else:
            line = f"{self.label}: {records} записей"
        if progress.bytes_total:
            line += f", файлы {progress.bytes_done / 2**20:.1f}/{progress.bytes_total / 2**20:.1f} МБ"
        if line != self.shown and self.tty:
            click.echo("\r" + line, nl=False, err=True)
        self.shown = line

    def close(self) -> None:
        if self.shown:
            click.echo(("\r" if self.tty else "") + self.shown, err=True)
