"""One way to show a number to a person: a decimal comma in Russian, a point in English."""

from __future__ import annotations

from flask import Flask
from flask_babel import Babel, force_locale

from web.i18n import file_size


def test_file_sizes_read_as_people_write_them() -> None:
    app = Flask("formats")
    Babel(app)
    with app.test_request_context():
        with force_locale("ru"):
            assert file_size(512) == "0,5\u00a0КБ"
            assert file_size(20 * 1024) == "20\u00a0КБ"
            assert file_size(int(3.4 * 1024 * 1024)) == "3,4\u00a0МБ"
            assert file_size(0) == "0,1\u00a0КБ"
        with force_locale("en"):
            assert file_size(512).startswith("0.5")
