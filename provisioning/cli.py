"""`faplink provision …`: the field engineer's commands (and `export-bundle` for central).

faplink/cli.py adds the `provision` group by itself; `export_bundle` is meant
to be added under `faplink central` too (it runs against central's data).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import click

from sync.session import Trust
from web.errors import USER_ERRORS

from .console import ProgressBar, dump, print_checks, print_status, print_summary

__all__ = ["provision", "node_check"]

DEFAULT_DATA = os.environ.get("FAPLINK_NODE_DATA", "/var/lib/faplink/node")

data_option = click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path),
    default=DEFAULT_DATA,
    show_default=True,
    help="The node's data directory.",
)


@contextmanager
def _errors() -> Iterator[None]:
    """Our errors as one clear line and exit code 1, never a stack trace."""
    from runtime.terminal import terminal_text

    try:
        yield
    except USER_ERRORS as exc:
        raise click.ClickException(terminal_text(exc)) from exc


def _node_dir(data_dir: Path):  # type: ignore[no-untyped-def]
    from .layout import NodeDir

    return NodeDir(data_dir.resolve())


key_file_option = click.option(
    "--key-file",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="The post's data key (hex) that `recover-key` wrote at central.",
)


def _open_data(nd, key_file: Path | None = None) -> None:  # type: ignore[no-untyped-def]
    """Make the post's data key available: a key file, the TPM, or a feldsher's login."""
    from node.datakey import DataKey, DataKeyError, unlock_with_password

    from .errors import DataLockedError
    from .recovery import open_with_key

    if key_file is not None:
        try:
            open_with_key(nd, DataKey.from_hex(key_file.read_text()))
        except DataKeyError as exc:
            raise click.ClickException(f"{key_file}: это не ключ данных ФАП ({exc})") from exc
        return
    try:
        nd.data_key()
        return
    except DataLockedError as exc:
        click.echo(exc.message, err=True)
    login = click.prompt("Логин фельдшера этого ФАП")
    password = click.prompt("Пароль", hide_input=True)
    key = unlock_with_password(nd.root, login, password)
    if key is None:
        raise click.ClickException("Неверный логин или пароль: данные киоска не открыты")
    nd.remember_key(key)


@click.group()
def provision() -> None:
    """Field engineer's tools: enrol, check, back up, retire a kiosk."""


# -- enrol ----------------------------------------------------------------------------


@provision.command("enroll")
@data_option
@click.option("--central", "central_url", help="Central's address, http(s)://host:port.")
@click.option("--token", help="One-time enrolment token from central.")
@click.option(
    "--bundle", "bundle_file", type=click.Path(path_type=Path, dir_okay=False), help="Offline bundle."
)
@click.option("--node-id", help="This kiosk's id (default: a new random one; token enrolment only).")
@click.option("--force", is_flag=True, help="Re-enrol an enrolled kiosk with a new key.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "--tls-ca",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="CA certificate of central's HTTPS, if not in the system's store.",
)
def enroll(
    data_dir: Path,
    central_url: str | None,
    token: str | None,
    bundle_file: Path | None,
    node_id: str | None,
    force: bool,
    as_json: bool,
    tls_ca: Path | None,
) -> None:
    """Enrol this kiosk: with --central and --token, or offline with --bundle."""
    from .enrol import enrol_with_token
    from .offline import enrol_from_bundle, read_bundle
    from .selftest import run_checks

    verify: Trust = str(tls_ca.resolve()) if tls_ca is not None else True
    nd = _node_dir(data_dir)
    if bundle_file is not None and (central_url or token):
        raise click.UsageError("--bundle не сочетается с --central/--token")
    if bundle_file is None and not (central_url and token):
        raise click.UsageError("нужны --central и --token (или --bundle для поста без связи)")
    with _errors():
        if bundle_file is not None:
            bundle = read_bundle(bundle_file)
            summary = enrol_from_bundle(nd, bundle, force=force)
        else:
            assert central_url and token
            bar = ProgressBar("Первая синхронизация")
            try:
                summary = enrol_with_token(
                    nd, central_url, token, node_id=node_id, force=force, progress=bar, verify=verify
                )
            finally:
                bar.close()
        check = run_checks(nd, online=summary.via == "token", verify=verify).as_dict()
        summary.self_test = check
    if as_json:
        dump(asdict(summary))
    else:
        print_summary(summary, check)
    if summary.via == "token" and not summary.synced:
        sys.exit(1)


# -- check and status -------------------------------------------------------------------


@click.command("check")
@data_option
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--offline", is_flag=True, help="Do not try to reach central.")
@click.option(
    "--devices/--no-devices",
    default=True,
    show_default=True,
    help="Check the camera, sound, a loopback call and the link to central too.",
)
@click.option("--call-seconds", type=click.FloatRange(1, 30), default=3.0, show_default=True)
def node_check(data_dir: Path, as_json: bool, offline: bool, devices: bool, call_seconds: float) -> None:
    """Self-test: data, database, key, disk, clock, central, serial ports; camera, sound, a call, the link."""
    from .layout import NodeDir
    from .report import report_now
    from .selftest import run_checks

    nd = NodeDir(data_dir.resolve())
    result = run_checks(nd, online=not offline, devices=devices, call_seconds=call_seconds)
    if not offline and nd.enrolled():
        report_now(nd)
    if as_json:
        dump(result.as_dict())
    else:
        print_checks(result.as_dict())
    if not result.ok:
        sys.exit(1)


provision.add_command(node_check)


@provision.command("status")
@data_option
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def status(data_dir: Path, as_json: bool) -> None:
    """Identity, central, last sync, queues, versions, last self-test."""
    from .status import node_status

    nd = _node_dir(data_dir)
    with _errors():
        if nd.enrolled():
            _open_data(nd)
        data = node_status(nd)
    if as_json:
        dump(data)
        return
    print_status(data)


# -- operations ------------------------------------------------------------------------


@provision.command("diagnose")
@data_option
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Archive to write.")
@click.option(
    "--log", "logs", multiple=True, type=click.Path(path_type=Path, dir_okay=False), help="Extra log."
)
@click.option("--no-journal", is_flag=True, help="Do not read the systemd journal.")
@click.option("--offline", is_flag=True, help="Do not try to reach central.")
def diagnose_command(
    data_dir: Path, out: Path | None, logs: tuple[Path, ...], no_journal: bool, offline: bool
) -> None:
    """An archive for support: status, self-test, settings, logs — no patient data."""
    from sync.clock import utcnow

    from .diagnose import diagnose

    out = out or Path(f"faplink-diagnose-{utcnow():%Y%m%d-%H%M%S}.tar.gz")
    nd = _node_dir(data_dir)
    with _errors():
        if nd.enrolled():
            _open_data(nd)  # to find the patients' names that must not leave in the logs
        names = diagnose(
            nd,
            out,
            logs=logs,
            journal_since=None if no_journal else "-3d",
            online=not offline,
        )
    click.echo(f"Диагностика записана в {out} ({len(names)} файлов); данных пациентов в ней нет")


@provision.command("rotate-key")
@data_option
def rotate_key_command(data_dir: Path) -> None:
    """Replace the kiosk's key (central must be reachable)."""
    from enrolment.bundle import fingerprint

    from .keys import rotate_key

    nd = _node_dir(data_dir)
    with _errors():
        if nd.enrolled():
            _open_data(nd)  # node.key.new is sealed under the post's data key, like node.key
        key = rotate_key(nd)
    click.echo(f"Новый ключ киоска принят центром: {fingerprint(key.public_hex)}")
    click.echo("Перезапустите службу киоска, чтобы она взяла новый ключ: systemctl restart faplink-node")


@provision.command("backup")
@data_option
@click.option(
    "--out", required=True, type=click.Path(path_type=Path, dir_okay=False), help="tar.gz to write."
)
def backup_command(data_dir: Path, out: Path) -> None:
    """Back up the database (consistent while the node runs), files, identity and key, all encrypted."""
    from .backup import backup

    nd = _node_dir(data_dir)
    with _errors():
        _open_data(nd)
        info = backup(nd, out)
    click.echo(
        f"Резервная копия киоска {info.node_id}: {info.path} "
        f"({info.size / 2**20:.1f} МБ, файлов {info.blobs}). "
        "Она зашифрована ключом данных ФАП: откроется паролем фельдшера этого ФАП "
        "или ключом восстановления центра"
    )


@provision.command("restore")
@click.option(
    "--from", "archive", required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False)
)
@click.option(
    "--data", "data_dir", required=True, type=click.Path(path_type=Path), help="A new, empty directory."
)
@key_file_option
def restore_command(archive: Path, data_dir: Path, key_file: Path | None) -> None:
    """Restore a backup into a new, empty data directory (a feldsher's login or --key-file opens it)."""
    from .backup import restore
    from .layout import NodeDir
    from .recovery import protect_key

    def open_key(root: Path):  # type: ignore[no-untyped-def]
        nd = NodeDir(root)
        _open_data(nd, key_file)
        return nd.data_key()

    nd = _node_dir(data_dir)
    with _errors():
        info = restore(archive, nd, open_key)
        key = nd.data_key()
        if key is not None:
            protect_key(nd, key, info.node_id)  # this machine's TPM, if it has one
    click.echo(f"Киоск {info.node_id} восстановлен в {data_dir}. Старый компьютер больше не включайте в сеть")


@provision.command("decommission")
@data_option
@click.option("--yes", is_flag=True, help="Confirm: patient data on this kiosk will be erased.")
@click.option("--force", is_flag=True, help="Erase even if the final sync or the revocation fails.")
def decommission_command(data_dir: Path, yes: bool, force: bool) -> None:
    """Final sync, key revoked at central, local patient data erased."""
    from .decommission import decommission
    from .errors import DataLockedError

    if not yes:
        raise click.UsageError("вывод из эксплуатации стирает данные пациентов на киоске: подтвердите --yes")
    nd = _node_dir(data_dir)
    with _errors():
        if nd.enrolled():
            nd.refuse_if_running()  # before asking for a login that would change nothing
        if nd.enrolled() and not force:
            _open_data(nd)  # the final sync reads the data
        elif nd.enrolled():
            try:
                nd.data_key()
            except DataLockedError:
                pass  # --force erases even data nobody can open any more
        result = decommission(nd, force=force)
    click.echo(f"Киоск {result.node_id} выведен из эксплуатации")
    click.echo(
        "  Последняя синхронизация: "
        + ("выполнена" if result.synced else f"НЕ выполнена ({result.sync_error})")
    )
    click.echo("  Ключ в центре: " + ("отозван" if result.revoked else f"НЕ отозван ({result.revoke_error})"))
    click.echo(f"  Удалено: {', '.join(result.removed)}")


@provision.command("install-kiosk")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False), default="/", show_default=True)
@click.option(
    "--data", "data_dir", type=click.Path(path_type=Path), default="/var/lib/faplink/node", show_default=True
)
@click.option("--port", default=8701, show_default=True, type=int)
@click.option("--user", default="faplink", show_default=True)
@click.option("--faplink", "command", default="", help="The faplink command (default: this installation's).")
@click.option("--enable", is_flag=True, help="Also run systemd-sysusers, tmpfiles and systemctl enable.")
@click.option("--tls-ca", default="", help="CA certificate file of central's HTTPS, for the node service.")
def install_kiosk_command(
    root: Path, data_dir: Path, port: int, user: str, command: str, enable: bool, tls_ca: str
) -> None:
    """Write systemd units so that the kiosk PC boots straight into faplink."""
    from .kiosk_units import (
        KioskPlan,
        enable_commands,
        install_kiosk,
        install_packages,
        missing_packages,
        run_enable,
    )

    if enable and root.resolve() != Path("/"):
        raise click.UsageError("--enable только вместе с --root /")
    if enable and os.geteuid() != 0:
        raise click.UsageError("--enable нужно запускать от root (sudo)")
    plan = KioskPlan(user=user, data_dir=data_dir, port=port, faplink=command, tls_ca=tls_ca)
    for path in install_kiosk(root, plan):
        click.echo(f"записан {path}")
    steps = [" ".join(c) for c in enable_commands()]
    missing = missing_packages(root)
    if missing and enable:
        click.echo(f"Устанавливаю пакеты Debian: {' '.join(missing)}")
        try:
            install_packages(missing)
        except (OSError, subprocess.CalledProcessError) as exc:
            raise click.ClickException(
                f"Не удалось установить {' '.join(missing)} ({exc}): без них киоск загрузится "
                f"без окна. Установите вручную: apt-get install {' '.join(missing)}"
            ) from exc
    elif missing:
        click.echo(
            f"Внимание: не установлен {', '.join(missing)} (пакет Debian): без него киоск загрузится "
            f"без окна. Установите от root: apt-get install {' '.join(missing)}"
        )
        steps.insert(0, f"apt-get install {' '.join(missing)}")
    if enable:
        run_enable()
        click.echo("Службы включены: киоск запустится при следующей загрузке")
    else:
        click.echo("Чтобы включить (от root):\n  " + "\n  ".join(steps))


@provision.command("recover")
@data_option
@click.option(
    "--key-file",
    required=True,
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="The post's data key (hex) that `recover-key` wrote at central.",
)
@click.option("--offline", is_flag=True, help="Do not sync now (the new feldsher's login comes later).")
def recover_command(data_dir: Path, key_file: Path, offline: bool) -> None:
    """Open a post whose feldshers are gone with the key central recovered, sync, seal it again."""
    from .recovery import logins_that_open, protect_key

    nd = _node_dir(data_dir)
    with _errors():
        nd.refuse_if_running()
        identity = nd.identity()
        _open_data(nd, key_file)
        key = nd.data_key()
        assert key is not None
        if not offline:
            from node import create_app

            app = create_app(nd.node_config(SYNC_ENABLED=False))
            app.extensions["sync_client"].run_round()  # the post's current logins arrive
        how = protect_key(nd, key, identity.node_id)
    click.echo(f"Данные киоска {identity.node_id} открыты ключом центра")
    if how == "tpm":
        click.echo("  Ключ снова запечатан в TPM этого компьютера: киоск откроется сам при загрузке")
    click.echo(f"  Откроют данные после перезагрузки: учётных записей фельдшеров — {logins_that_open(nd)}")
    click.echo(f"Уничтожьте файл ключа: shred -u {key_file}")


# -- central side ----------------------------------------------------------------------


@click.command("recover-key")
@click.option(
    "--data", "data_dir", required=True, type=click.Path(path_type=Path), help="Central's data directory."
)
@click.option(
    "--keyring",
    "keyring_file",
    required=True,
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="The post's keyring.json, brought from the kiosk.",
)
@click.option("--out", required=True, type=click.Path(path_type=Path, dir_okay=False))
def recover_key(data_dir: Path, keyring_file: Path, out: Path) -> None:
    """At central: recover a post's data key from its keyring.json with central's recovery key."""
    from .recovery import recover_data_key

    with _errors():
        key = recover_data_key(data_dir.resolve(), keyring_file)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as target:
        target.write(key.raw.hex())
    click.echo(f"Ключ данных ФАП записан в {out} (0600). Передайте его инженеру из рук в руки;")
    click.echo("на киоске: faplink provision recover --key-file …, затем уничтожьте файл")


provision.add_command(recover_key)
