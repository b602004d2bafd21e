"""Features (blueprint packages) register themselves, and their entries in the user menu.

A feature package exports `bp` and may export `MENU`: a list of
`MenuItem(endpoint, label, roles)`; the layout shows the entries the
logged-in user's role may use, in registration order.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from flask import Flask, g

__all__ = ["MenuItem", "register_features"]


@dataclass(frozen=True)
class MenuItem:
    endpoint: str
    label: str  # a Russian msgid, marked with N_
    roles: tuple[str, ...] = ()


def register_features(app: Flask, *features: ModuleType) -> None:
    menu: list[MenuItem] = []
    for feature in features:
        app.register_blueprint(feature.bp)
        menu.extend(getattr(feature, "MENU", ()))

    def user_menu() -> list[MenuItem]:
        staff = getattr(g, "staff", None)
        if staff is None:
            return []
        return [item for item in menu if not item.roles or staff.role in item.roles]

    app.jinja_env.globals["user_menu"] = user_menu
