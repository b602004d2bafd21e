"""faplink: offline-first telemedicine link between feldsher posts and consultation centres."""

__all__ = ["__version__"]

__version__ = "0.1.0"
