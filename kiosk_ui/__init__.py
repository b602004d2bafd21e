"""kiosk_ui: see README (later issues build it)."""
