"""Over a shaped link, the post's offered mode falls back from video to audio, chat and deferred
as bandwidth drops, and the consultant sees each change on the appeal before calling.

Central runs in one network namespace and the post's node in another, as real
processes; between them a veth pair shaped by `tc tbf` (rate) and `iptables
statistic` (0.5 % loss each way), and a relay in the post's namespace that adds
40 ms each way (see netlink.py). At each step the node measures on demand
(POST /api/v1/link/measure, as «Проверить связь» does), and the result must be
at the node's GET /api/v1/link and on central's appeal page and API.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from faplink.demo import prepare
from runtime.processes import faplink_command, start, stop, wait_http
from tests.helpers.cluster import ApiClient, eventually, login_works

from .netlink import PRIORITY, RelayProcess, ShapedLink, in_netns, why_not_here

CENTRAL_PORT, NODE_PORT = 8700, 8701
ONE_WAY_DELAY = 0.040
LOSS = 0.005
LABELS = {
    "video": "видео",
    "audio": "только звук",
    "chat": "только чат",
    "deferred": "отложенная консультация",
}


class Site:
    """Central, the post's node and the relay on a shaped link; everything stopped by `close()`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.link = ShapedLink()
        self.procs: list[Any] = []
        self.relay: RelayProcess | None = None

    @property
    def central_url(self) -> str:
        return f"http://{self.link.CENTRE_IP}:{CENTRAL_PORT}"

    node_url = f"http://127.0.0.1:{NODE_PORT}"

    def open(self) -> None:
        self.link.up()
        self.link.shape(4000, LOSS)
        plan = prepare(self.root / "data", CENTRAL_PORT)
        central_dir = plan["central"]["dir"]  # type: ignore[index]
        self.procs.append(
            start(
                [
                    "ip", "netns", "exec", self.link.centre, *PRIORITY,
                    *faplink_command(
                        "central", "run", "--host", self.link.CENTRE_IP, "--port", str(CENTRAL_PORT),
                        "--data", central_dir,
                    ),
                ],
                self.root / "logs" / "central.log",
            )
        )  # fmt: skip
        in_netns(self.link.centre, lambda: wait_http(f"{self.central_url}/login", 60, self.procs[0]))
        self.relay = RelayProcess(self.link.post, (self.link.CENTRE_IP, CENTRAL_PORT), ONE_WAY_DELAY)
        post_dir = Path(plan["posts"][0]["dir"])  # type: ignore[index]
        identity = json.loads((post_dir / "node.json").read_text())
        identity["central_url"] = f"http://127.0.0.1:{self.relay.port}"
        (post_dir / "node.json").write_text(json.dumps(identity))
        env = {
            # Rounds on demand (sync now) rather than every second: they would share the link
            # with the measurements; and no periodic measurement besides the one at start.
            "FAPLINK_SYNC_INTERVAL": "30",
            "FAPLINK_LINK_CHECK_INTERVAL": "3600",
        }
        self.procs.append(
            start(
                ["ip", "netns", "exec", self.link.post, *PRIORITY,
                 *faplink_command("node", "run", "--port", str(NODE_PORT), "--data", str(post_dir))],
                self.root / "logs" / "post.log",
                env=env,
            )
        )  # fmt: skip
        in_netns(self.link.post, lambda: wait_http(f"{self.node_url}/login", 60, self.procs[1]))

    def close(self) -> None:
        for proc in reversed(self.procs):
            stop(proc, kill=True)
        if self.relay is not None:
            self.relay.close()
        self.link.down()

    def at_post(self, fn: Any) -> Any:
        return in_netns(self.link.post, fn)

    def at_centre(self, fn: Any) -> Any:
        return in_netns(self.link.centre, fn)

    def logs(self) -> str:
        out = [self.link.describe()]
        for path in sorted((self.root / "logs").glob("*.log")):
            out.append(f"==== {path.name}\n" + path.read_text(errors="replace")[-5000:])
        return "\n".join(out)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    why = why_not_here()
    if why:
        pytest.skip(why)
    site = Site(tmp_path)
    try:
        site.open()
        yield site
    finally:
        print(site.logs(), file=sys.stderr)  # shown by pytest if the test failed
        site.close()


def _appeal_at_the_post(site: Site) -> tuple[ApiClient, str]:
    """The feldsher's appeal to Dr Ivanova, made at the post and synced to central."""
    site.at_post(lambda: eventually(lambda: login_works(site.node_url, "fap1"), 60, "the first sync"))
    feldsher: ApiClient = site.at_post(lambda: ApiClient(site.node_url, "fap1"))

    def create() -> str:
        patient = feldsher.post(
            "/api/v1/patients",
            json={
                "last_name": "Сорокина",
                "first_name": "Нина",
                "birth_date": "1949-07-02",
                "sex": "female",
                "phone": "8 (920) 555-12-34",
            },
        )
        assert patient.status_code == 201, patient.text
        doctor = feldsher.get("/api/v1/consultants", params={"name": "Иванова"}).json()["consultants"][0]
        slot = feldsher.get(f"/api/v1/consultants/{doctor['id']}/slots").json()["slots"][0]
        appeal = feldsher.post(
            "/api/v1/appeals",
            json={
                "patient": patient.json()["id"],
                "consultant": doctor["id"],
                "slot": slot["id"],
                "form_of_care": "planned",
                "kind": "primary",
                "contact_mode": "video",
                "question": "Одышка при ходьбе, отёки голеней к вечеру: тактика?",
                "consent_by": "patient",  # the ИДС to the consultation
            },
        )
        assert appeal.status_code == 201, appeal.text
        feldsher.post("/api/v1/sync/now")
        return str(appeal.json()["id"])

    return feldsher, site.at_post(create)


def _when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).replace(tzinfo=None, microsecond=0)


def test_the_offered_mode_follows_the_bandwidth_and_the_consultant_sees_it(site: Site) -> None:
    feldsher, appeal_id = _appeal_at_the_post(site)
    doctor: ApiClient = site.at_centre(lambda: ApiClient(site.central_url, "ivanova"))
    site.at_centre(
        lambda: eventually(
            lambda: doctor.get(f"/api/v1/appeals/{appeal_id}").status_code == 200, 30, "the appeal at central"
        )
    )
    token = feldsher.http.headers["X-CSRF-Token"]

    def measure() -> dict[str, Any]:
        answer = feldsher.http.post(
            f"{site.node_url}/api/v1/link/measure", headers={"X-CSRF-Token": token}, timeout=60
        )
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def at_central(measured_at: str) -> dict[str, Any]:
        def fresh() -> dict[str, Any] | None:
            link = doctor.get(f"/api/v1/appeals/{appeal_id}/link").json()["link"]
            return link if link and _when(link["measured_at"]) == _when(measured_at) else None

        # On the lossy step the report itself may need its second or third attempt (up to ~60 s).
        link: dict[str, Any] = eventually(fresh, 90, "the measurement at central")
        page = doctor.get(f"/appeals/{appeal_id}").text
        assert f'data-link-mode="{link["mode"]}"' in page
        return link

    seen: list[dict[str, Any]] = []
    # (rate kbit/s both ways, loss, the mode the post must offer); the second step keeps the
    # bandwidth but loses a quarter of the packets: video is out, though the rate would allow it.
    # Then the bandwidth falls: audio, chat, and at 4 kbit/s store-and-forward.
    for rate, loss, expected in [
        (4000, LOSS, ("video",)),
        (4000, 0.25, ("audio", "chat", "deferred")),
        (300, LOSS, ("audio",)),
        (24, LOSS, ("chat",)),
        (4, LOSS, ("deferred",)),
    ]:
        site.link.shape(rate, loss)
        measured = site.at_post(measure)
        print(rate, loss, measured)  # shown if the test fails
        if measured["mode"] not in expected:
            # As a feldsher would press «Проверить связь» once more: one measurement can meet
            # the node's own traffic on the link (its first rounds, the live link connecting).
            measured = site.at_post(measure)
            print(rate, loss, "again:", measured)
        seen.append(measured)
        assert measured["mode"] in expected, (rate, loss, measured)
        assert site.at_post(lambda: feldsher.get("/api/v1/link").json())["mode"] == measured["mode"]
        link = site.at_centre(lambda: at_central(measured["measured_at"]))  # noqa: B023
        assert (link["mode"], link["stale"]) == (measured["mode"], False), link
        assert (link["down_kbps"], link["loss_pct"]) == (measured["down_kbps"], measured["loss_pct"])
        page = site.at_centre(lambda: doctor.get(f"/appeals/{appeal_id}").text)
        assert f'id="post-link-mode">{LABELS[measured["mode"]]}<' in page

    video, lossy, audio, chat, deferred = seen
    # The figures behind the modes: what the shaping allowed, as measured.
    # (Rough: on a busy two-core machine the processes' own delays blur the timing. Up is
    # timed from request to answer for the small transfers: a stall there lowers it. Down, a
    # reader that wakes late finds a 32 KiB probe whole in its socket, less one round trip
    # of time: 9,056 kbit/s at 4,000 in one fresh-clone run. The bound down is three times
    # the rate; the mode, checked at every step above, is what the feldsher is offered.)
    assert 2000 < video["down_kbps"] < 12000 and 600 <= video["up_kbps"] < 6000, video
    assert video["loss_pct"] is not None and video["loss_pct"] < 5, video
    assert 80 <= video["rtt_ms"] < 800, video  # 2 × 40 ms of relay, and a busy machine
    assert 150 < audio["down_kbps"] < 450 and 64 <= audio["up_kbps"] < 450, audio
    # At a few kbit/s tbf's burst of one packet weighs on two-kilobyte probes: only the band is
    # sure, and only for the way down. Up, a 2 KB probe cut short on a busy machine passes
    # mostly in that burst and reads high (67.7 kbit/s at 24 in one run): the mode, which takes
    # the lower of the two, is what the feldsher is offered, and it is checked above.
    assert 8 <= chat["down_kbps"] < 64 and 8 <= chat["up_kbps"] < 128, chat
    assert deferred["down_kbps"] is None or deferred["down_kbps"] < 8, deferred
    # At 25 % loss TCP itself stumbles: the loss may show in the loss figure, in a slow
    # transfer or in late pings, but it shows (the mode above is not video) — and where the
    # loss was measured, it is well above what the clean link gave.
    assert lossy["loss_pct"] is None or lossy["loss_pct"] > max(5.0, video["loss_pct"]), lossy
