"""The default limits on what one version may copy into the registry (a module of constants only, so the
client can name them in its signatures without importing the artifact machinery)."""

from __future__ import annotations

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_FILES"]

DEFAULT_MAX_BYTES = 50 * 10**9
DEFAULT_MAX_FILES = 1_000_000
