"""Which posts each change at central concerns, remembered per process: a pull with nothing new
in the post's scope is answered without asking the models.

Central numbers every change (`latest_seq`). A post pulls from its cursor; when anything at
central changed after it — another post's push, a consultant's protocol anywhere in the
country — the pull used to ask every model for rows in the post's scope after the cursor, one
scoped query each, to find nothing in most cases: with 1,000 posts polling and a few pushes a
second, nearly every pull paid that. Here each change is matched to the posts that pull it once
per process (`SyncModel.posts_pulling`, the inverse of `scope_for_post` the contract tests hold
to one answer), and a pull asks only whether its post's last change is after its cursor.

Only changes numbered after the process first looked are known (`floor`); a pull from before
it, and a pull whose post had a change, ask the models as before. A model every post pulls
(`scope_for_post` None) or a change that reaches too many pairs of rows and posts (a new
specialty, a schedule for a whole region) counts for every post.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from .model import PULLING_BATCH, SyncModel
from .registry import replication

__all__ = ["PostChanges", "MAX_PAIRS"]

#: Row-and-post pairs worth remembering from one model's changes in one catch-up; more, and the
#: changes count for every post (their pulls ask the models, as they did before this index).
MAX_PAIRS = 50_000


@functools.cache
def _pulled_by_all(model: type[SyncModel]) -> bool:
    return model.scope_for_post("") is None


class PostChanges:
    """Per post, the last change number in its scope, from `floor` on; safe between threads."""

    def __init__(self, max_pairs: int = MAX_PAIRS) -> None:
        self.max_pairs = max_pairs
        self.floor: int | None = None
        self.upto = 0  # changes numbered (floor, upto] are matched to their posts
        self.last: dict[str, int] = {}  # post (organisation id) → its last change, if after floor
        self.everyone = 0  # the last change that counts for every post
        self._lock = threading.Lock()

    def skip_to(self, organization_id: str, cursor: int, latest: int) -> int | None:
        """`latest` if no change numbered (cursor, latest] is in the post's scope — the post may
        move its cursor there with nothing to pull; None when that is not known (ask the models).
        `latest`: the committed change counter, every change up to it visible."""
        with self._lock:
            if self.floor is None:
                self.floor = self.upto = latest
                return None
            if cursor < self.floor:
                return None
            if self.upto < latest:
                self._match(self.upto, latest)
                self.upto = latest
            if max(self.last.get(organization_id, 0), self.everyone) > cursor:
                return None
            return max(latest, cursor)

    def _match(self, after: int, upto: int) -> None:
        """Match the changes numbered (after, upto] to the posts that pull them. A row changed
        again since is found at its newer number, in a later catch-up."""
        for model in replication().models:
            if not model.PULLED_BY_POSTS:
                continue
            rows: Any = model.select(model.id, model.seq).where((model.seq > after) & (model.seq <= upto))
            changed: dict[str, int] = dict(rows.tuples())
            if not changed:
                continue
            pairs = None if _pulled_by_all(model) else _pairs(model, sorted(changed), self.max_pairs)
            if pairs is None:
                self.everyone = max(self.everyone, *changed.values())
                continue
            for row_id, post in pairs:
                seq = changed[row_id]
                if self.last.get(post, 0) < seq:
                    self.last[post] = seq


def _pairs(model: type[SyncModel], ids: list[str], cap: int) -> list[tuple[str, str]] | None:
    """(row id, post) for each of these rows and each post that pulls it (`post_pairs`, the
    inverse of the scope); None if there are more than `cap`."""
    pairs: list[tuple[str, str]] = []
    for start in range(0, len(ids), PULLING_BATCH):
        batch = model.post_pairs(ids[start : start + PULLING_BATCH]).limit(cap - len(pairs) + 1)
        pairs.extend(batch.tuples())
        if len(pairs) > cap:
            return None
    return pairs
