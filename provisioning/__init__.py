"""provisioning: see README (later issues build it)."""
