"""The field engineer's tools: enrol a kiosk, check it, keep it healthy, retire it.

Everything here works on a node's data directory (node.json, node.key,
node.db, blobs/) and talks to central only through signed requests, so a
kiosk can be enrolled and checked with a weak link or none at all.
"""

__all__: list[str] = []
