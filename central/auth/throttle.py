"""Login throttling at central: slow a password guesser down without locking a consultant out.

Only failed logins count, in moving windows kept by `limits` (the storage and strategy
library behind Flask-Limiter), in memory or, with several instances, in the shared Redis:

- one address guessing one account: 5 failures a minute, 20 an hour;
- one address trying many accounts: 30 failures in 10 minutes;
- many addresses against one account: 10 failures a minute (a distributed guesser gets
  at most 14,400 tries a day; the consultant waits at most a minute).

A refusal names how long to wait, in whole minutes or seconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from i18n import N_
from sync.errors import AuthError

__all__ = ["LoginThrottle", "TooManyAttempts", "RULES"]


class TooManyAttempts(AuthError):
    """Too many failed logins from this address or for this account: wait, then try again."""

    code = "too_many_attempts"


@dataclass(frozen=True)
class _Rule:
    limit: RateLimitItem
    keys: tuple[str, ...]  # which of "account", "address" identify the counter


RULES: tuple[_Rule, ...] = (
    _Rule(parse("5/minute"), ("account", "address")),
    _Rule(parse("20/hour"), ("account", "address")),
    _Rule(parse("30/10 minutes"), ("address",)),
    _Rule(parse("10/minute"), ("account",)),
)


class LoginThrottle:
    """Counts failed logins per account, per address and per both; refuses while one is spent."""

    def __init__(self, storage_uri: str = "memory://") -> None:
        storage = storage_from_string(storage_uri)
        assert isinstance(storage, Storage)  # the synchronous kind, for a threaded app
        self.limiter = MovingWindowRateLimiter(storage)

    @staticmethod
    def _ids(rule: _Rule, account: str, address: str) -> list[str]:
        values = {"account": (account or "").strip().lower()[:64], "address": address or "?"}
        return ["faplink-login", *rule.keys, *(values[k] for k in rule.keys)]

    def check(self, account: str, address: str) -> None:
        """Raise TooManyAttempts while any window for this account or address is spent."""
        wait = 0.0
        for rule in RULES:
            ids = self._ids(rule, account, address)
            if not self.limiter.test(rule.limit, *ids):
                reset = self.limiter.get_window_stats(rule.limit, *ids).reset_time
                wait = max(wait, reset - time.time())
        if wait > 0:
            seconds = max(1, int(wait + 0.999))
            if seconds >= 120:
                raise TooManyAttempts(
                    N_("Слишком много неудачных попыток входа: повторите через %(minutes)s мин."),
                    field="login",
                    minutes=-(-seconds // 60),
                )
            raise TooManyAttempts(
                N_("Слишком много неудачных попыток входа: повторите через %(seconds)s с"),
                field="login",
                seconds=seconds,
            )

    def failed(self, account: str, address: str) -> None:
        for rule in RULES:
            self.limiter.hit(rule.limit, *self._ids(rule, account, address))

    def succeeded(self, account: str, address: str) -> None:
        """The right password from this address: its own counters for the account start afresh."""
        for rule in RULES:
            if rule.keys == ("account", "address"):
                self.limiter.clear(rule.limit, *self._ids(rule, account, address))
