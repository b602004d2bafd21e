"""faplink's clinical domain: the replicated models, their rules and their replication contracts.

The sync engine (`sync`) knows nothing of this package; this package hands the engine what it
replicates and how (see `sync.registry`).
"""
