"""``registry sync`` through ``main(argv)`` (and ``--follow`` in a real process), and the progress display."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from registry import Registry
from registry.cli import main
from registry.cli.context import EXIT_ERROR, EXIT_INVALID, EXIT_NOT_FOUND, EXIT_OK
from registry.cli.progress import ProgressBar, human_bytes
from registry.exchange.sync import SyncProgress


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def source(tmp_path: Path) -> str:
    path = str(tmp_path / "src")
    with Registry(path) as reg:
        reg.create_registered_model("fraud")
        for i in range(2):
            folder = tmp_path / f"model{i}"
            folder.mkdir()
            (folder / "MLmodel").write_text("flavors: {}\n")
            (folder / "weights.bin").write_bytes(bytes([i]) * 5000)
            reg.create_model_version("fraud", str(folder))
        reg.set_registered_model_alias("fraud", "champion", 1)
    return path


def test_sync_json_up_to_date_and_detach(source: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dest = str(tmp_path / "edge")
    code, out, err = cli(capsys, "sync", source, dest, "--model", "fraud@champion")
    assert code == EXIT_OK and "new models:     fraud" in out and "files fetched:  2" in out
    assert err == ""  # quick work: no progress at all (see test_progress_after_the_delay)
    code, out, err = cli(capsys, "--json", "sync", source, dest, "--model", "fraud@champion")
    assert code == EXIT_OK and json.loads(out)["up_to_date"] is True and err == ""
    code, _, err = cli(capsys, "alias", "set", "fraud", "mine", "1", "--registry", dest)
    assert code == EXIT_ERROR and f"is a replica of {source}" in err and "registry sync --detach" in err
    code, out, _ = cli(capsys, "sync", "--detach", dest)
    assert code == EXIT_OK and f"Detached {dest} from {source}" in out
    assert cli(capsys, "alias", "set", "fraud", "mine", "1", "--registry", dest)[0] == EXIT_OK


def test_progress_after_the_delay(
    source: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRY_PROGRESS_DELAY", "0")
    code, _, err = cli(capsys, "sync", source, str(tmp_path / "edge"), "--model", "fraud@champion")
    assert code == EXIT_OK and "sync: 100%  2/2 files" in err  # not a terminal: a plain line
    monkeypatch.setenv("REGISTRY_PROGRESS_DELAY", "soon")
    code, _, err = cli(capsys, "sync", source, str(tmp_path / "edge2"))
    assert code == EXIT_INVALID and "REGISTRY_PROGRESS_DELAY must be a number of seconds" in err


def test_sync_quiet_prints_no_progress(source: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "sync", source, str(tmp_path / "all"), "--quiet")
    assert code == EXIT_OK and err == "" and "files fetched:  4" in out


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        (["sync"], EXIT_INVALID, "Give the source and the replica"),
        (["sync", "{src}"], EXIT_INVALID, "Give the source and the replica"),
        (["sync", "--detach"], EXIT_INVALID, "Give only the replica"),
        (["sync", "--detach", "{src}"], EXIT_INVALID, "is not a replica"),
        (["sync", "{src}", "{tmp}/e", "--model", "fraud@nobody"], EXIT_NOT_FOUND, "nobody"),
        (["sync", "{tmp}/missing", "{tmp}/e"], EXIT_NOT_FOUND, "There is no registry"),
        (["sync", "{src}", "{tmp}/e", "--follow", "--interval", "0"], EXIT_INVALID, "--interval"),
        (["sync", "{src}", "{src}"], EXIT_INVALID, "cannot be a replica of itself"),
        (["sync", "{tmp}/other", "{src}"], EXIT_NOT_FOUND, "There is no registry"),
    ],
)
def test_sync_mistakes_exit_with_one_line(
    source: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], status: int, message: str
) -> None:
    argv = [a.format(src=source, tmp=tmp_path) for a in argv]
    code, _, err = cli(capsys, *argv)
    assert code == status and err.startswith("error: ") and message in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("json_lines", [False, True], ids=["text", "json-lines"])
def test_sync_follow_keeps_a_replica_current(source: str, tmp_path: Path, json_lines: bool) -> None:
    dest = str(tmp_path / "edge")
    cmd = [sys.executable, "-m", "registry", "sync", source, dest, "--model", "fraud@champion", "--follow"]
    if json_lines:
        cmd.append("--json")
    proc = subprocess.Popen([*cmd, "--interval", "0.05", "--quiet"], stdout=subprocess.PIPE, text=True)
    lines: list[str] = []
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 30
        seen: list[int] = []
        moved = False
        while time.monotonic() < deadline and seen != [2]:
            time.sleep(0.05)
            try:
                with Registry(dest, read_only=True) as reg:
                    seen = [v.version for v in reg.list_model_versions("fraud")]
            except LookupError:
                continue
            if seen == [1] and not moved:
                with Registry(source) as src:
                    src.set_registered_model_alias("fraud", "champion", 2)
                moved = True
        assert seen == [2]
        marker = '"source": ' if json_lines else "Synced from"
        while time.monotonic() < deadline and sum(marker in line for line in lines) < 2:
            time.sleep(0.01)  # the second sync committed; its report is on its way
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        reader.join(timeout=10)
        proc.stdout.close()
    assert proc.returncode == EXIT_OK
    assert sum(marker in line for line in lines) == 2
    if json_lines:  # one report per line
        assert [json.loads(line)["source"] for line in lines] == [source, source]


def _progress(done: int, size: int, *, finished: bool = False, reused: int = 0) -> SyncProgress:
    return SyncProgress(done, 4, size, 4_000_000, reused, 2.0, "fraud/1", finished)


def test_the_progress_bar_on_a_terminal_redraws_one_line() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, tty=True)
    bar(_progress(2, 2_000_000))
    bar(_progress(4, 4_000_000, finished=True, reused=1_000_000))
    text = stream.getvalue()
    assert text.count("\r") == 2 and text.endswith("\n") and text.count("\n") == 1
    assert "[############............]  50%  2/4 files  2.0 MB/4.0 MB  1.0 MB/s" in text
    assert "(1.0 MB already here)" in text and "100%" in text


def test_plain_lines_are_periodic_and_quiet_is_silent() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, tty=False, every=3600)
    for i in range(1, 4):
        bar(_progress(i, i * 1_000_000))
    bar(_progress(4, 4_000_000, finished=True))
    assert stream.getvalue().splitlines() == [
        "sync: 25%  1/4 files  1.0 MB/4.0 MB  500.0 kB/s  6s left",
        "sync: 100%  4/4 files  4.0 MB/4.0 MB  2.0 MB/s  done in 2s",
    ]
    quiet = io.StringIO()
    ProgressBar(quiet, tty=True, quiet=True)(_progress(4, 4_000_000, finished=True))
    assert quiet.getvalue() == ""
    nothing = io.StringIO()  # nothing to fetch: no progress at all
    ProgressBar(nothing, tty=False)(SyncProgress(0, 0, 0, 0, 0, 0.1, "", True))
    assert nothing.getvalue() == ""


@pytest.mark.parametrize(("n", "text"), [(999, "999 B"), (1000, "1.0 kB"), (2_500_000, "2.5 MB"), (3e12, "3.0 TB")])
def test_human_bytes(n: float, text: str) -> None:
    assert human_bytes(n) == text


def test_sync_says_when_it_brought_the_source_s_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = str(tmp_path / "lifecycle")
    Registry(source, policy="lifecycle").close()
    dest = str(tmp_path / "edge")
    code, out, _ = cli(capsys, "sync", source, dest, "--quiet")
    assert code == EXIT_OK and "stage policy:   lifecycle (the source's)" in out
    code, out, _ = cli(capsys, "policy", "show", "--registry", dest)
    assert code == EXIT_OK and "lifecycle" in out
