"""`faplink provision install-kiosk`: systemd units so that the kiosk PC boots straight into faplink.

Three pieces, all under `root` (``/`` on a real kiosk, a scratch directory in tests):

- ``faplink-node.service``: the post's service, as the dedicated user, restarted on failure;
- ``faplink-kiosk.service``: the full-screen window, in its own Wayland kiosk session
  (cage) on tty7 with automatic login of the same user, after the node; restarted on failure;
- ``sysusers.d/faplink.conf`` and ``tmpfiles.d/faplink.conf``: the user (in the groups for
  serial devices, camera, sound and input) and its data directory.

The node unit hands the node the post's data key sealed by the TPM (``data-key.cred``,
made at enrolment when the machine has a TPM 2.0) as the credential
``faplink-data-key``; where there is no such file the ``SetCredential=`` default
"none" applies (systemd.exec(5): not fatal), and the node asks a feldsher's login
to open the data instead (node/datakey.py).

The kiosk unit follows cage's own recipe for starting on boot with systemd
(PAMName=login gives it a logind session, hence access to the screen and input).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from node.datakey import CREDENTIAL_NAME, NO_SEALED_KEY, SEALED_KEY_FILE

__all__ = [
    "KioskPlan",
    "unit_files",
    "install_kiosk",
    "enable_commands",
    "REQUIRED_PROGRAMS",
    "missing_packages",
    "install_packages",
]

#: Programs the units start that faplink's own installation does not bring, with the
#: Debian package of each: without cage a freshly installed kiosk boots to a blank screen.
REQUIRED_PROGRAMS: dict[str, str] = {"usr/bin/cage": "cage"}


@dataclass(frozen=True)
class KioskPlan:
    user: str = "faplink"
    data_dir: Path = Path("/var/lib/faplink/node")
    port: int = 8701
    faplink: str = ""  # the faplink command; default: this interpreter's
    tty: str = "tty7"
    tls_ca: str = ""  # CA certificate of central's HTTPS when not in the system's store

    def command(self, *args: str) -> str:
        base = shlex.split(self.faplink) if self.faplink else _default_command()
        return shlex.join([*base, *args])


def _default_command() -> list[str]:
    found = shutil.which("faplink")
    if found and Path(found).parent == Path(sys.executable).parent:
        return [found]
    return [sys.executable, "-m", "faplink.cli"]


def _node_unit(plan: KioskPlan) -> str:
    data = str(plan.data_dir)
    tls = f"Environment=REQUESTS_CA_BUNDLE={plan.tls_ca}\n" if plan.tls_ca else ""
    sealed = plan.data_dir / SEALED_KEY_FILE
    return f"""# faplink: the post's local service (feldsher pages, JSON API, sync with the centre).
[Unit]
Description=faplink post service (ФАП)
Wants=network-online.target
After=network-online.target time-sync.target

[Service]
Type=simple
User={plan.user}
Group={plan.user}
SupplementaryGroups=dialout
Environment=FAPLINK_NODE_DATA={data}
# The post's data key, sealed by this machine's TPM at enrolment; without that file the
# default "none" applies and the data opens at a feldsher's login (systemd.exec(5)).
LoadCredentialEncrypted={CREDENTIAL_NAME}:{sealed}
SetCredential={CREDENTIAL_NAME}:{NO_SEALED_KEY}
{tls}ExecStart={plan.command("node", "run", "--port", str(plan.port), "--data", data)}
Restart=on-failure
RestartSec=5
# A post must never lose a record: give SQLite time to finish on shutdown.
TimeoutStopSec=30
NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=strict
ProtectHome=yes
ReadWritePaths={plan.data_dir.parent}

[Install]
WantedBy=multi-user.target
"""


def _kiosk_unit(plan: KioskPlan) -> str:
    url = f"http://127.0.0.1:{plan.port}/"
    window = plan.command("kiosk", "--url", url, "--data", str(plan.data_dir), "--no-start")
    return f"""# faplink: the kiosk window, full screen in a cage Wayland session on {plan.tty},
# logged in automatically as {plan.user} (recipe: cage's "Starting Cage on boot with systemd").
[Unit]
Description=faplink kiosk window
Requires=faplink-node.service
After=faplink-node.service systemd-user-sessions.service plymouth-quit-wait.service
After=dbus.socket systemd-logind.service getty@{plan.tty}.service
Wants=dbus.socket systemd-logind.service
Conflicts=getty@{plan.tty}.service
Before=graphical.target
ConditionPathExists=/dev/tty0

[Service]
Type=simple
User={plan.user}
PAMName=login
Environment=XDG_SESSION_TYPE=wayland
Environment=QT_QPA_PLATFORM=wayland;xcb
# The node is its own service (faplink-node), so the window does not start one.
ExecStart=/usr/bin/cage -s -- {window}
Restart=on-failure
RestartSec=3
UtmpIdentifier={plan.tty}
UtmpMode=user
TTYPath=/dev/{plan.tty}
TTYReset=yes
TTYVHangup=yes
TTYVTDisallocate=yes
StandardInput=tty-fail
StandardOutput=journal
StandardError=journal

[Install]
WantedBy=graphical.target
"""


def _sysusers(plan: KioskPlan) -> str:
    return f"""# faplink: the dedicated kiosk user (serial devices, camera, sound, input, screen).
u {plan.user} - "faplink kiosk" {plan.data_dir.parent}
m {plan.user} dialout
m {plan.user} video
m {plan.user} audio
m {plan.user} input
m {plan.user} render
"""


def _tmpfiles(plan: KioskPlan) -> str:
    return f"""# faplink: the node's data directory belongs to the kiosk user and nobody else.
d {plan.data_dir.parent} 0700 {plan.user} {plan.user} -
Z {plan.data_dir.parent} - {plan.user} {plan.user} -
"""


def unit_files(plan: KioskPlan) -> dict[str, str]:
    """Path under the root → contents."""
    return {
        "etc/systemd/system/faplink-node.service": _node_unit(plan),
        "etc/systemd/system/faplink-kiosk.service": _kiosk_unit(plan),
        "etc/sysusers.d/faplink.conf": _sysusers(plan),
        "etc/tmpfiles.d/faplink.conf": _tmpfiles(plan),
    }


def install_kiosk(root: Path, plan: KioskPlan) -> list[Path]:
    """Write the files under `root`; returns their paths."""
    written = []
    for relative, text in unit_files(plan).items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o644)
        written.append(path)
    return written


def missing_packages(root: Path) -> list[str]:
    """The Debian packages whose programs the units start but `root` lacks."""
    return [package for program, package in REQUIRED_PROGRAMS.items() if not (root / program).exists()]


def install_packages(packages: list[str]) -> None:
    """apt-get install the packages (as root, on the kiosk itself)."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "install", "-y", "-q", *packages], check=True, env=env)


def enable_commands() -> list[list[str]]:
    """What makes the units take effect on a real kiosk (run as root, with root "/")."""
    return [
        ["systemd-sysusers"],
        ["systemd-tmpfiles", "--create", "faplink.conf"],
        ["systemctl", "daemon-reload"],
        ["systemctl", "set-default", "graphical.target"],
        ["systemctl", "enable", "faplink-node.service", "faplink-kiosk.service"],
    ]


def run_enable() -> None:
    for command in enable_commands():
        subprocess.run(command, check=True)
