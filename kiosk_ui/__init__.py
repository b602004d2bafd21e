"""kiosk_ui: `faplink kiosk`, the post's full-screen window on the node's pages.

The kiosk talks to the node over HTTP only: it starts `faplink node run` when
the node does not answer, waits for it, and shows the feldsher a clear screen
when it cannot start. The window is pywebview with the Qt backend: no browser
chrome, no context menu, camera and microphone granted to the node's pages
(http://127.0.0.1 is a secure context).
"""

from kiosk_ui.node_process import NodeStartError, ensure_node, node_answers
from kiosk_ui.window import Kiosk

__all__ = ["Kiosk", "NodeStartError", "ensure_node", "node_answers"]
