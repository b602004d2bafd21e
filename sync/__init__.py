"""faplink's offline-first sync engine: wire, signing, HLC clock, change feed, push/pull,
blobs, contract enforcement, migrations and its own state.

The engine knows nothing of the clinical domain nor of the web apps that use it: the
domain registers what is replicated (`sync.registry`), and node and central import
from here, never the other way round.
"""

__all__ = ["PROTOCOL_VERSION"]

#: Version of the wire protocol spoken between node and central.
PROTOCOL_VERSION = 1
