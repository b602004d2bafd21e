"""`faplink kiosk`: the post's full-screen window (in faplink.cli; also `python -m kiosk_ui.cli`)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click

__all__ = ["kiosk"]


@click.command("kiosk")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path),
    default=lambda: os.environ.get("FAPLINK_NODE_DATA", "var/node"),
    show_default="$FAPLINK_NODE_DATA or var/node",
    help="The node's data directory (to start the node if it is not running).",
)
@click.option("--port", default=8701, show_default=True, type=int, help="The node's port on 127.0.0.1.")
@click.option("--url", help="The node's address (default http://127.0.0.1:PORT).")
@click.option("--windowed", is_flag=True, help="A normal window instead of full screen (for engineers).")
@click.option("--no-start", is_flag=True, help="Do not start the node; only show it.")
@click.option(
    "--self-test",
    type=float,
    default=None,
    metavar="SECONDS",
    help="Open, wait up to SECONDS for the page, print it as JSON and exit (0: the node's page shown).",
)
def kiosk(
    data_dir: Path, port: int, url: str | None, windowed: bool, no_start: bool, self_test: float | None
) -> None:
    """Open the post's pages full-screen, starting the node if it is not running."""
    from kiosk_ui.window import Kiosk

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = Kiosk(
        url or f"http://127.0.0.1:{port}",
        data_dir.resolve(),
        port,
        fullscreen=not windowed,
        start_node=not no_start,
        self_test=self_test,
    )
    raise SystemExit(app.run())


if __name__ == "__main__":
    kiosk()
