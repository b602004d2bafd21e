"""The kiosk's self-test (`faplink provision check`, alias `faplink node check`).

Each check gives ok / warn / fail with a sentence an engineer can act on.
Being offline is only a warning: a post often has no link, and works anyway.
The last result is kept in selftest.json, for `status` and for central's fleet page.
"""

from __future__ import annotations

import enum
import errno
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from i18n import N_
from node.datadir import check_against_mark, check_present, damaged
from node.devicecheck import checks as device_checks
from node.keyring import has_recovery_copy
from node.nodekey import key_file_state
from runtime.terminal import terminal_text
from sync.clock import utcnow
from sync.db import FILE_ERRORS, WrongDatabaseKey, connect_file
from sync.errors import RevokedError, TransportError
from sync.request_signing import NodeKey
from sync.session import Trust
from web.errors import USER_ERRORS

from .errors import DataLockedError
from .layout import NodeDir, read_json, write_json
from .link import FleetLink

__all__ = ["CheckStatus", "CheckResult", "SelfTest", "run_checks", "last_selftest", "DISK_WARN", "DISK_FAIL"]

# The same limits as the kiosk's «Проверка оборудования» page.
DISK_WARN = device_checks.DISK_WARN
DISK_FAIL = device_checks.DISK_FAIL
CLOCK_WARN_MS = device_checks.CLOCK_WARN_MS
#: How long the self-test's loopback call lasts (the kiosk page's lasts longer).
CALL_SECONDS = 3.0
#: What a full disk is called at the kiosk (web/errors.py) and here alike.
DISK_FULL = "Недостаточно места на диске"


class CheckStatus(enum.StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass
class CheckResult:
    name: str
    title: str
    status: str
    detail: str = ""
    figures: dict[str, Any] = field(default_factory=dict)  # measurements (device checks only)


@dataclass
class SelfTest:
    at: str
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.status != CheckStatus.FAIL for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {"at": self.at, "ok": self.ok, "checks": [asdict(c) for c in self.checks]}


class _Checks:
    """One run: checks share what earlier ones found (the key, the link)."""

    def __init__(self, nd: NodeDir, online: bool, timeout: float, verify: Trust = True) -> None:
        self.nd = nd
        self.online = online
        self.timeout = timeout
        self.verify = verify
        self.key: NodeKey | None = None
        self.link: FleetLink | None = None
        self.results: list[CheckResult] = []

    def add(self, name: str, title: str, check: Callable[[], tuple[CheckStatus, str]]) -> None:
        try:
            status, detail = check()
        except USER_ERRORS as exc:  # ours: a sentence that says what to do
            status, detail = CheckStatus.FAIL, terminal_text(exc)
        except Exception as exc:  # a check that crashes is a failed check, not a crashed self-test
            status, detail = CheckStatus.FAIL, f"{type(exc).__name__}: {exc}"
        self.results.append(CheckResult(name, title, status.value, detail))

    def add_device(self, name: str, measure: Callable[[], device_checks.Finding]) -> None:
        """A check from node/devicecheck (camera, sound, loopback call, link): its verdict and figures."""
        try:
            found = measure()
        except Exception as exc:  # as in add(): a crashed check is a failed one
            detail = f"{type(exc).__name__}: {exc}"
            self.results.append(CheckResult(name, device_checks.TITLES[name], CheckStatus.FAIL.value, detail))
            return
        self.results.append(CheckResult(name, found.title, found.status, found.text(), found.figures))

    def link_quality(self) -> device_checks.Finding:
        if not self.online:
            return device_checks.Finding("link", CheckStatus.SKIP.value, "проверка связи не запрашивалась")
        return device_checks.link_finding(self.nd.identity())

    def data_dir(self) -> tuple[CheckStatus, str]:
        root = self.nd.root
        if not root.is_dir():
            return CheckStatus.FAIL, f"каталог данных {root} не существует"
        try:
            fd, path = tempfile.mkstemp(dir=root, prefix=".selftest")
            try:
                os.write(fd, b"faplink")
                os.fsync(fd)
            finally:
                os.close(fd)
                os.unlink(path)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                return CheckStatus.FAIL, f"{DISK_FULL}: в каталог {root} ничего не записать, освободите место"
            raise
        return CheckStatus.OK, str(root)

    def identity(self) -> tuple[CheckStatus, str]:
        identity = self.nd.identity()
        return CheckStatus.OK, f"{identity.node_id}, центр {identity.central_url}"

    def node_key(self) -> tuple[CheckStatus, str]:
        from enrolment.bundle import fingerprint

        state = key_file_state(self.nd.key_file)  # missing or damaged: a NodeKeyError says so
        try:
            self.key = self.nd.node_key()
        except DataLockedError:
            return CheckStatus.WARN, "ключ киоска зашифрован ключом данных ФАП: вход фельдшера его откроет"
        mode = self.nd.key_file.stat().st_mode & 0o777
        text = f"отпечаток {fingerprint(self.key.public_hex)}"
        if state == "plain":
            return CheckStatus.WARN, f"{text}; файл ключа не зашифрован: служба киоска зашифрует его"
        if mode & 0o077:
            return CheckStatus.WARN, f"{text}; файл ключа доступен другим пользователям ({mode:o}), нужно 600"
        return CheckStatus.OK, text

    def database(self) -> tuple[CheckStatus, str]:
        check_present(self.nd.database)  # missing or empty where a database was: refused, said why
        if not self.nd.database.is_file():
            return CheckStatus.FAIL, "база данных киоска не создана: повторите регистрацию"
        try:
            conn = connect_file(self.nd.database, self.nd.database_key(), read_only=True)
            try:
                rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
                seq = _change_number(conn)
            finally:
                conn.close()
        except DataLockedError:
            return CheckStatus.WARN, "данные зашифрованы, вход фельдшера их ещё не открыл: проверка пропущена"
        except WrongDatabaseKey as exc:  # not a database, cut short, or another key
            raise damaged(self.nd.database) from exc
        except FILE_ERRORS as exc:
            raise damaged(self.nd.database) from exc
        if rows != ["ok"]:
            return CheckStatus.FAIL, "база данных повреждена: " + "; ".join(rows[:3])
        check_against_mark(self.nd.database, seq)  # a lost -wal, an older copy: refused, said why
        return CheckStatus.OK, "integrity_check: ok"

    def recovery_copy(self) -> tuple[CheckStatus, str]:
        if has_recovery_copy(self.nd.root):
            return CheckStatus.OK, "ключ восстановления центра откроет данные ФАП, если фельдшеры уйдут"
        return CheckStatus.WARN, (
            "нет копии ключа данных ФАП для ключа восстановления центра: служба киоска сделает её "
            "после синхронизации с центром"
        )

    def disk(self) -> tuple[CheckStatus, str]:
        free = shutil.disk_usage(self.nd.root).free
        text = f"свободно {free / 1024**3:.1f} ГБ"
        if free < DISK_FAIL:
            return CheckStatus.FAIL, f"{DISK_FULL}: {text}, освободите место, иначе записи не сохранятся"
        if free < DISK_WARN:
            return CheckStatus.WARN, text
        return CheckStatus.OK, text

    def central(self) -> tuple[CheckStatus, str]:
        if not self.online:
            return CheckStatus.SKIP, "проверка связи не запрашивалась"
        identity = self.nd.identity()
        if self.key is None:  # missing, or sealed under a data key nothing here opened
            return CheckStatus.SKIP, "ключ киоска не открыт: подписанный запрос к центру не отправить"
        self.link = FleetLink.to(
            identity.central_url, identity.node_id, self.key, timeout=self.timeout, verify=self.verify
        )
        try:
            self.link.measure_clock()
        except TransportError:
            self.link = None
            return CheckStatus.WARN, f"центр {identity.central_url} недоступен: киоск работает без связи"
        try:
            self.link.call("GET", "/whoami")
        except RevokedError:
            return CheckStatus.FAIL, "доступ киоска к центру отозван: позвоните в техническую поддержку"
        except USER_ERRORS as exc:
            return CheckStatus.FAIL, f"центр не принимает ключ киоска: {exc.message}"
        return CheckStatus.OK, f"центр {identity.central_url} отвечает и принимает ключ киоска"

    def clock(self) -> tuple[CheckStatus, str]:
        if self.link is None or self.link.central.clock_offset_ms is None:
            return CheckStatus.SKIP, "нет связи с центром"
        offset = self.link.central.clock_offset_ms
        if abs(offset) < 1000:
            return CheckStatus.OK, "часы киоска идут вровень с центром"
        text = f"часы киоска {'отстают' if offset > 0 else 'спешат'} на {abs(offset) / 1000:.1f} с"
        if abs(offset) > CLOCK_WARN_MS:
            return CheckStatus.WARN, text + ": синхронизация это учитывает, но исправьте время киоска"
        return CheckStatus.OK, text

    def serial_ports(self) -> tuple[CheckStatus, str]:
        from serial.tools import list_ports

        ports = sorted(p.device for p in list_ports.comports())
        if not ports:
            return CheckStatus.WARN, "последовательные порты не найдены: медицинские приборы не подключены?"
        return CheckStatus.OK, ", ".join(ports)

    def sync_state(self) -> tuple[CheckStatus, str]:
        status = self.nd.sync_status()
        state = status.get("state")
        if not status:
            return CheckStatus.WARN, "синхронизация ещё не запускалась"
        if state == "revoked":
            return CheckStatus.FAIL, "доступ отозван: позвоните в техническую поддержку"
        if state == "update_required":
            return CheckStatus.FAIL, "центр требует обновить программу киоска"
        last = status.get("last_success") or "никогда"
        if state == "error":
            return CheckStatus.WARN, f"последняя ошибка: {status.get('last_error')}; успешная — {last}"
        return CheckStatus.OK, f"последняя успешная синхронизация: {last}"


def run_checks(
    nd: NodeDir,
    *,
    online: bool = True,
    timeout: float = 5.0,
    save: bool = True,
    devices: bool = False,
    call_seconds: float = CALL_SECONDS,
    verify: Trust = True,
) -> SelfTest:
    """Run every check (with `devices`, the camera, sound, a loopback call and the link too);
    keep the result in selftest.json unless `save` is False. `verify`: TLS trust for central."""
    run = _Checks(nd, online, timeout, verify)
    run.add("data_dir", N_("Каталог данных доступен для записи"), run.data_dir)
    run.add("identity", N_("Регистрация киоска (node.json)"), run.identity)
    run.add("key", N_("Ключ киоска"), run.node_key)
    run.add("database", N_("Целостность базы данных"), run.database)
    run.add("recovery", N_("Копия ключа данных для центра"), run.recovery_copy)
    run.add("disk", N_("Свободное место на диске"), run.disk)
    run.add("central", N_("Связь с центром"), run.central)
    run.add("clock", N_("Часы киоска"), run.clock)
    run.add("serial_ports", N_("Последовательные порты приборов"), run.serial_ports)
    run.add("sync", N_("Синхронизация"), run.sync_state)
    if devices:
        run.add_device("camera", device_checks.camera_finding)
        run.add_device("microphone", device_checks.microphone_finding)
        run.add_device("speakers", device_checks.speakers_finding)
        run.add_device("loopback", lambda: device_checks.loopback_finding(call_seconds))
        run.add_device("link", run.link_quality)
    result = SelfTest(at=utcnow().isoformat(), checks=run.results)
    if save and nd.root.is_dir():
        try:
            write_json(nd.selftest_file, result.as_dict())
        except OSError:
            pass  # a full disk: the checks above say so, and the last saved result stays
    return result


def _change_number(conn: Any) -> int:
    """The newest change number in node.db (as node/datadir.py reads it), on a side connection."""
    try:
        row = conn.execute("SELECT value FROM sync_sequence WHERE name = 'changes'").fetchone()
    except FILE_ERRORS:
        return 0  # never migrated
    return int(row[0]) if row else 0


def last_selftest(nd: NodeDir) -> dict[str, Any] | None:
    data = read_json(nd.selftest_file)
    return data if isinstance(data, dict) else None
