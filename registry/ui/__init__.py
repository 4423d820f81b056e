"""The web UI (``registry ui``): pages rendered on the server from the public client, plain forms for every
action, and a small script for live updates. See `registry.ui.server` for the routes."""

from registry.ui.server import DEFAULT_PORT, UIServer

__all__ = ["DEFAULT_PORT", "UIServer"]
