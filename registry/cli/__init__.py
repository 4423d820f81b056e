"""The ``registry`` command line: `main()` runs one command (``registry.cli.app``), one module per noun.

Commands only call the public client (never the store) and print through `registry.cli.output`.
"""

from registry.cli.app import build_parser, main

__all__ = ["build_parser", "main"]
