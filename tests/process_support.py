"""Helpers for tests that drive real child processes."""

from __future__ import annotations

import os
import subprocess


def first_line(proc: subprocess.Popen[str]) -> str:
    """The child's first line of output, read without buffering.

    ``proc.stdout.readline()`` may pull later lines into the text wrapper's buffer, and ``communicate()`` (with
    stderr piped too) reads the pipe's descriptor directly, so lines buffered that way would be lost.
    """
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    data = bytearray()
    while not data.endswith(b"\n"):
        chunk = os.read(fd, 1)
        if not chunk:
            break
        data += chunk
    return data.decode()
