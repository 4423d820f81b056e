"""``python -m registry``: the same command line as the ``registry`` console script."""

import sys

from registry.cli import main

sys.exit(main())
