"""The live-update hub at central: what changed, for which consultant and which post."""
