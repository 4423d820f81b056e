"""``registry ui``: serve the web UI of a registry on this machine.

It receives the CLI's context (parsed arguments, output, the registry opened on first use) and returns an exit
status; errors propagate to the CLI's one error boundary.
"""

from __future__ import annotations

import sys
from typing import Any

from registry.cli.context import EXIT_OK, Command, Context

__all__ = ["add_commands"]


def cmd_ui(ctx: Context) -> int:
    from registry.ui import UIServer

    a = ctx.args
    reg = ctx.registry()
    try:
        server = UIServer(reg, host=a.host, port=a.port)
    except OSError as exc:
        from registry.errors import InvalidParameterValue

        raise InvalidParameterValue(
            f"Cannot listen on {a.host}:{a.port}: {exc.strerror or exc}. Choose another --port (0 picks a free one)."
        ) from None
    where = server.url
    print(f"Registry UI for {reg.uri} on {where} (Ctrl-C stops).", file=sys.stderr, flush=True)
    if not server.guard.loopback_only:
        print(
            f"warning: listening on {a.host}, not only on this machine; anyone who can reach it can change the "
            "registry.",
            file=sys.stderr,
            flush=True,
        )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return EXIT_OK


def add_commands(top: Any, command: Command) -> None:
    """Add ``registry ui`` to the CLI's top-level subparsers with its ``command`` helper."""
    p = command(
        top,
        "ui",
        cmd_ui,
        "browse, compare and promote models in a web browser (a local web UI)",
        example="registry ui --port 8080",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks a free one)")
