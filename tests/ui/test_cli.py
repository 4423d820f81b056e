"""``registry ui`` from a shell: it serves the registry it names until Ctrl-C, and refuses clearly otherwise."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from registry import Registry
from registry.cli.context import EXIT_INVALID, EXIT_NOT_FOUND, EXIT_OK


def ui_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "registry", "ui", *args]


def test_ui_serves_until_interrupted(ui_registry: Registry) -> None:
    with subprocess.Popen(
        ui_command("--registry", ui_registry.uri, "--port", "0"), stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stderr is not None
            line = proc.stderr.readline()
            found = re.search(r"on (http://127\.0\.0\.1:\d+) ", line)
            assert found, line
            with urllib.request.urlopen(found.group(1) + "/models", timeout=10) as reply:
                page = reply.read().decode()
            assert reply.status == 200 and "fraud-detector" in page
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=10) == EXIT_OK


def test_ui_refuses_a_folder_that_is_no_registry(tmp_path: Path) -> None:
    done = subprocess.run(
        ui_command("--registry", str(tmp_path / "none"), "--port", "0"), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == EXIT_NOT_FOUND
    assert done.stderr.startswith("error: There is no registry at") and "Traceback" not in done.stderr
    assert not (tmp_path / "none").exists()


def test_ui_says_when_the_port_is_taken(ui_registry: Registry) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            ui_command("--registry", ui_registry.uri, "--port", str(port)), capture_output=True, text=True, timeout=60
        )
    assert done.returncode == EXIT_INVALID
    assert f"Cannot listen on 127.0.0.1:{port}" in done.stderr and "--port" in done.stderr
