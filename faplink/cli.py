"""The `faplink` command: central, node, devices, demo (and later kiosk, provision)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click

import domain  # noqa: F401  (registers the replicated models with the sync engine)
from central.serving import SERVERS, serve_gunicorn
from runtime.logs import configure_logging
from web.errors import USER_ERRORS

__all__ = ["main"]


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
def main(verbose: bool) -> None:
    """faplink: telemedicine link between feldsher posts and consultation centres."""
    configure_logging(verbose)


# -- central -------------------------------------------------------------------


@main.group()
def central() -> None:
    """The consultation centre's service."""


_DATA = click.option("--data", "data_dir", type=click.Path(path_type=Path), help="Data directory.")
_DATABASE_URL = click.option(
    "--database-url", help="sqlite:///path or postgresql://… (default: SQLite in --data)."
)


def _central_config(data_dir: Path | None, database_url: str | None) -> dict[str, object]:
    config: dict[str, object] = {}
    if data_dir:
        config["DATA_DIR"] = data_dir.resolve()
        config["DATABASE_URL"] = f"sqlite:///{data_dir.resolve() / 'central.db'}"
    if database_url:
        config["DATABASE_URL"] = database_url
    return config


def _message_queue() -> str:
    """The Redis message queue the gateway and the web workers share (FAPLINK_MESSAGE_QUEUE)."""
    url = os.environ.get("FAPLINK_MESSAGE_QUEUE", "")
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise click.ClickException(
            "the realtime gateway needs the Redis message queue: set FAPLINK_MESSAGE_QUEUE=redis://…"
        )
    return url


@central.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8700, show_default=True, type=int)
@_DATA
@_DATABASE_URL
@click.option(
    "--server",
    type=click.Choice(SERVERS),
    default="werkzeug",
    show_default=True,
    envvar="FAPLINK_CENTRAL_SERVER",
    help="gunicorn (one threaded worker) keeps connections alive: use it in production.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Run N web worker processes and the realtime gateway (Socket.IO without a thread per "
    "connection) behind this one address; needs PostgreSQL and FAPLINK_MESSAGE_QUEUE.",
)
def central_run(
    host: str, port: int, data_dir: Path | None, database_url: str | None, server: str, workers: int | None
) -> None:
    """Serve central's web, JSON API and sync API."""
    if workers is not None:
        from central.gateway.supervisor import Instance, run_instance

        if database_url is None or not database_url.startswith(("postgresql://", "postgres://")):
            raise click.ClickException("--workers needs --database-url postgresql://…")
        _message_queue()
        click.echo(f"central: http://{host}:{port}/ ({workers} web workers, realtime gateway)", err=True)
        sys.exit(run_instance(Instance(host, port, workers, data_dir and data_dir.resolve(), database_url)))

    from central import create_app
    from central.extensions import socketio

    config = _central_config(data_dir, database_url)
    click.echo(f"central: http://{host}:{port}/ ({server})", err=True)
    if server == "gunicorn":
        serve_gunicorn(lambda: create_app(config), f"{host}:{port}")
        return
    app = create_app(config)
    socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=True, use_reloader=False)


@central.command("web")
@click.option("--bind", required=True, help="unix:PATH or HOST:PORT, for the realtime gateway reaches them.")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True)
@_DATA
@_DATABASE_URL
def central_web(bind: str, workers: int, data_dir: Path | None, database_url: str | None) -> None:
    """Serve central's pages, JSON API and sync API behind the realtime gateway (gunicorn, N workers)."""
    from central import create_app

    _message_queue()
    config = {**_central_config(data_dir, database_url), "REALTIME_GATEWAY": True}
    serve_gunicorn(lambda: create_app(config), bind, workers=workers)


@central.command("migrate")
@_DATA
@_DATABASE_URL
def central_migrate(data_dir: Path | None, database_url: str | None) -> None:
    """Bring central's database schema up to date (before several processes open it at once)."""
    from central.gateway.supervisor import migrate_once

    url = _central_config(data_dir, database_url).get("DATABASE_URL")
    if not url:
        raise click.ClickException("give --database-url or --data")
    migrate_once(str(url))


@central.command("gateway")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8700, show_default=True, type=int)
@click.option("--web", "web", required=True, help="Where the web workers listen: unix:PATH or http://HOST:PORT.")
@_DATA
@_DATABASE_URL
def central_gateway(host: str, port: int, web: str, data_dir: Path | None, database_url: str | None) -> None:
    """Serve central's Socket.IO (posts' links, consultants' pages) and pass the rest to the web workers."""
    from central.gateway import serve_gateway

    _message_queue()
    serve_gateway(_central_config(data_dir, database_url), host, port, web)


@central.command("issue-token")
@click.option("--data", "data_dir", type=click.Path(path_type=Path), required=True)
@click.option("--organization", required=True, help="Id of the post the kiosk belongs to.")
@click.option("--hours", default=72.0, show_default=True, help="How long the token is valid.")
def central_issue_token(data_dir: Path, organization: str, hours: float) -> None:
    """Print a one-time enrolment token for a post's kiosk."""
    from central import create_app
    from domain.models import Organization, OrgKind
    from sync.server import issue_token

    create_app({"DATA_DIR": data_dir.resolve()})
    post = Organization.get_or_none(Organization.id == organization)
    if post is None or post.kind != OrgKind.POST:
        raise click.ClickException(f"{organization} is not a post known to central")
    click.echo(issue_token(organization, hours=hours))


# -- node ----------------------------------------------------------------------


@main.group()
def node() -> None:
    """The post's local service."""


@node.command("run")
@click.option("--port", default=8701, show_default=True, type=int)
@click.option("--data", "data_dir", type=click.Path(path_type=Path), required=True)
def node_run(port: int, data_dir: Path) -> None:
    """Serve the post's pages and API on 127.0.0.1, with the sync worker."""
    from node.extensions import socketio
    from node.locked import when_open
    from node.running import NodeAlreadyRunning, hold_data_dir

    try:
        lock = hold_data_dir(data_dir.resolve())  # held until this process ends
    except NodeAlreadyRunning as exc:
        raise click.ClickException(str(exc)) from exc
    app = _node_app({"DATA_DIR": data_dir.resolve()})
    app.extensions["data_dir_lock"] = lock
    when_open(app, _report_health)  # a post sealed by passwords opens at a feldsher's login
    click.echo(f"node: http://127.0.0.1:{port}/", err=True)
    socketio.run(app, host="127.0.0.1", port=port, allow_unsafe_werkzeug=True, use_reloader=False)


def _node_app(config: dict[str, object]):  # type: ignore[no-untyped-def]
    """The node's app, or one line saying why its data directory does not open (exit 1)."""
    from node import create_app
    from node.datakey import DataKeyError
    from node.errors import NodeError
    from node.identity import NodeNotEnrolled
    from runtime.terminal import terminal_text

    try:
        return create_app(config)
    except NodeError as exc:
        raise click.ClickException(terminal_text(exc)) from exc
    except (NodeNotEnrolled, DataKeyError) as exc:
        raise click.ClickException(str(exc)) from exc


def _report_health(app: object) -> None:
    """Send the fleet page this kiosk's health after sync rounds (provisioning's reporter)."""
    from provisioning.report import attach_reporter

    extensions = app.extensions  # type: ignore[attr-defined]
    attach_reporter(extensions["sync_client"], extensions["identity"])


@node.command("enroll")
@click.option("--data", "data_dir", type=click.Path(path_type=Path), required=True)
@click.option("--central", "central_url", required=True)
@click.option("--token", required=True, help="One-time token from central's administrator.")
@click.option("--node-id", help="This kiosk's id (default: a new random one).")
def node_enroll(data_dir: Path, central_url: str, token: str, node_id: str | None) -> None:
    """Register this kiosk with central using an enrolment token."""
    import secrets

    from node.identity import NodeIdentity
    from sync.client import parse_url, request_enrolment
    from sync.request_signing import NodeKey
    from sync.session import offset_from, received_at

    data_dir = data_dir.resolve()
    if (data_dir / "node.json").exists():
        raise click.ClickException(f"{data_dir} already holds an enrolled node")
    node_id = node_id or f"kiosk-{secrets.token_hex(5)}"
    key = NodeKey.generate()
    try:
        sent = time.time()
        answer = request_enrolment(central_url, token, key, node_id)
        offset = offset_from(answer["server_time_ms"], sent, time.time(), received_at(answer))
    except USER_ERRORS as exc:
        raise click.ClickException(exc.message) from exc
    identity = NodeIdentity(
        node_id,
        answer["organization"],
        parse_url(central_url),
        data_dir,
        clock_offset_ms=offset,
    )
    key.save(identity.key_path)
    identity.save()
    click.echo(json.dumps({"node_id": node_id, "organization": answer["organization"]}))


@node.command("sync")
@click.option("--data", "data_dir", type=click.Path(path_type=Path), required=True)
@click.option("--once", is_flag=True, help="Run one full round; exit non-zero on failure.")
@click.option("--status", "show_status", is_flag=True, help="Print the last status as JSON.")
def node_sync(data_dir: Path, once: bool, show_status: bool) -> None:
    """Run or inspect the node's sync."""
    data_dir = data_dir.resolve()
    if show_status or not once:
        path = data_dir / "sync-status.json"
        status = json.loads(path.read_text()) if path.is_file() else {"state": "never"}
        click.echo(json.dumps(status, ensure_ascii=False, indent=2))
        return

    app = _node_app({"DATA_DIR": data_dir, "SYNC_ENABLED": False})
    if "sync_client" not in app.extensions:
        raise click.ClickException(
            "Данные ФАП зашифрованы и ещё не открыты: войдите в киоск логином фельдшера "
            "или восстановите ключ (faplink provision recover)"
        )
    client = app.extensions["sync_client"]
    try:
        report = client.run_round()
    except USER_ERRORS as exc:
        click.echo(json.dumps(client.status.as_dict(), ensure_ascii=False), err=True)
        raise click.ClickException(exc.message) from exc
    click.echo(json.dumps(report.__dict__, ensure_ascii=False))


# -- demo and devices ----------------------------------------------------------


@main.group(invoke_without_command=True)
@click.option("--data", "data_dir", default="demo-data", type=click.Path(path_type=Path))
@click.option(
    "--port",
    default=8700,
    show_default=True,
    type=int,
    help="Central's port; posts use the next ones.",
)
@click.option("--keep", is_flag=True, help="Keep existing demo data instead of starting afresh.")
@click.option(
    "--signer",
    type=click.Choice(["pades", "gost"]),
    default="pades",
    show_default=True,
    envvar="FAPLINK_DEMO_SIGNER",
    help="How the demo centre signs protocols: PAdES (RSA) or GOST R 34.10-2012 (libengine-gost-openssl).",
)
@click.pass_context
def demo(ctx: click.Context, data_dir: Path, port: int, keep: bool, signer: str) -> None:
    """Central, two posts and simulated devices, seeded, on embedded SQLite.

    While it runs, from another terminal: `faplink demo link off post1` cuts post 1's link to
    central (`on` restores it); `faplink demo stop central` / `start central` stop and start
    one process while the others go on.
    """
    if ctx.invoked_subcommand is not None:
        return
    from .demo import DemoError, run_demo

    try:
        code = run_demo(data_dir.resolve(), port, keep=keep, signer=signer)
    except DemoError as exc:
        raise click.ClickException(str(exc)) from exc
    sys.exit(code)


def _demo_command(command: str, target: str, data_dir: Path) -> None:
    from .demo_link import post_command

    if not (data_dir / "demo.json").is_file():
        raise click.ClickException(f"no demo in {data_dir}: start one with `faplink demo`")
    post_command(data_dir / "control", command, target)
    click.echo(f"{command} {target}: passed to the running demo")


_DEMO_DATA = click.option("--data", "data_dir", default="demo-data", type=click.Path(path_type=Path))


@demo.command("link")
@click.argument("state", type=click.Choice(["off", "on"]))
@click.argument("post")
@_DEMO_DATA
def demo_link(state: str, post: str, data_dir: Path) -> None:
    """Cut (off) or restore (on) a demo post's link to central, e.g. `link off post1`."""
    _demo_command(f"link-{state}", post, data_dir)


@demo.command("stop")
@click.argument("name")
@_DEMO_DATA
def demo_stop(name: str, data_dir: Path) -> None:
    """Stop one demo process (central, post1, post2); the others go on."""
    _demo_command("stop", name, data_dir)


@demo.command("start")
@click.argument("name")
@_DEMO_DATA
def demo_start(name: str, data_dir: Path) -> None:
    """Start a stopped demo process again."""
    _demo_command("start", name, data_dir)


def _register_subcommands() -> None:
    """Commands that live with their package; a package that fails to import fails the command."""
    from central.admin.cli import audit
    from central.fhir.cli import export_fhir, fhir_token
    from central.fleet.cli import export_bundle
    from central.protocols.cli import signing
    from hardware.cli import devices
    from kiosk_ui.cli import kiosk
    from provisioning.cli import node_check, provision

    main.add_command(devices)  # `faplink devices list|read|simulate`
    main.add_command(provision)  # `faplink provision …`: the field engineer's commands
    main.add_command(kiosk)  # `faplink kiosk`: the full-screen window on the node
    central.add_command(fhir_token)  # `faplink central fhir-token issue|list|revoke`: МИС tokens
    central.add_command(export_fhir)  # `faplink central export-fhir`: Bulk Data NDJSON
    central.add_command(signing)  # `faplink central signing ca`: the CA that checks the centre's signatures
    central.add_command(audit)  # `faplink central audit verify`: «Журнал доступа»'s chains
    node.add_command(node_check, "check")  # `faplink node check`: the kiosk's self-test
    central.add_command(export_bundle)  # `faplink central export-bundle`: offline enrolment
    provision.add_command(export_bundle)  # the same, where the field engineer looks for it


_register_subcommands()

if __name__ == "__main__":
    main()
