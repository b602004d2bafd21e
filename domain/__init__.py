"""faplink's clinical domain: the replicated models, their rules and their replication contracts.

The sync engine (`sync`) knows nothing of this package: importing it registers with the
engine what is replicated and how (`domain.replication`, `sync.registry`). The node and
central app factories, the CLI and the tests import it before they sync.
"""

from __future__ import annotations

from sync.registry import register

from .replication import REPLICATION

__all__ = ["REPLICATION"]

register(REPLICATION)
