"""Extensions created once and bound in the app factory."""

from flask_socketio import SocketIO

__all__ = ["socketio"]

socketio = SocketIO()
