"""faplink's replicated data model and its offline-first sync engine.

The engine knows nothing of the web apps that use it: node and central both
import from here, never the other way round.
"""

__all__ = ["PROTOCOL_VERSION"]

#: Version of the wire protocol spoken between node and central.
PROTOCOL_VERSION = 1
