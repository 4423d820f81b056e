"""The command line's conventions: help with an example for every command and text for every positional,
global options in ``registry --help``, confirmations (on a terminal and not), progress (terminal, plain, quiet),
tables cut to the terminal, times with their zone, ``check``'s advice, completion scripts, and logging."""

from __future__ import annotations

import argparse
import ast
import json
import os
import pty
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from registry import Registry
from registry.cli import build_parser, main
from registry.cli.completion import bash_script, zsh_script
from registry.cli.context import EXIT_INVALID, EXIT_OK, parse_time
from registry.cli.output import Output, format_time
from registry.errors import InvalidParameterValue

PACKAGE = Path(__file__).resolve().parents[2] / "registry"
Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def folder(tmp_path: Path) -> str:
    return str(tmp_path / "registry")


@pytest.fixture
def run(folder: str, capsys: pytest.CaptureFixture[str]) -> Run:
    def invoke(*argv: str) -> tuple[int, str, str]:
        code = main(["--registry", folder, *argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


def _parsers(parser: argparse.ArgumentParser, path: str = "registry") -> Iterator[tuple[str, argparse.ArgumentParser]]:
    for action in parser._actions:  # argparse keeps its subcommands here; there is no public accessor
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"{path} {name}", sub
                yield from _parsers(sub, f"{path} {name}")


ALL = list(_parsers(build_parser()))


@pytest.mark.parametrize(("path", "parser"), ALL, ids=[p for p, _ in ALL])
def test_every_command_help_shows_an_example_and_explains_every_positional(
    path: str, parser: argparse.ArgumentParser
) -> None:
    text = parser.format_help()
    examples = text.split("example:\n" if "example:\n" in text else "examples:\n")
    assert len(examples) == 2, f"`{path} --help` shows no example"
    lines = [line.strip() for line in examples[1].splitlines() if line.strip()]
    words = path.split()[1:]
    assert any(line.startswith("registry") and _has_in_order(line.split(), words) for line in lines), lines
    for action in parser._actions:
        if not action.option_strings and not isinstance(action, argparse._SubParsersAction):
            assert action.help and len(action.help.split()) >= 2, f"`{path}`: positional {action.dest} has no help"


def _has_in_order(tokens: list[str], words: list[str]) -> bool:
    it = iter(tokens)
    return all(any(t == w for t in it) for w in words)


def test_global_options_are_in_the_top_level_help() -> None:
    text = build_parser().format_help()
    for option in ("--registry PATH", "--json", "--wide", "-v, --verbose", "--log-level", "Example:"):
        assert option in text, option


def test_global_options_work_before_or_after_the_command(run: Run, folder: str) -> None:
    Registry(folder).create_registered_model("m")
    before = run("--json", "models", "list")
    after = run("models", "list", "--json")
    assert before[1] == after[1] and json.loads(after[1])["items"][0]["name"] == "m"


# -- confirmations -------------------------------------------------------------------------------------------------


def _registry_with_versions(folder: str, model_dir: Callable[..., str]) -> Registry:
    reg = Registry(folder)
    reg.create_registered_model("m")
    reg.create_model_version("m", model_dir())
    reg.create_model_version("m", model_dir())
    return reg


def test_deleting_without_a_terminal_or_yes_refuses_and_deletes_nothing(
    run: Run, folder: str, model_dir: Callable[..., str]
) -> None:
    reg = _registry_with_versions(folder, model_dir)
    hook = reg.create_webhook("ci", "http://127.0.0.1:9/hook", ["model_version.created"])
    trigger = reg.create_trigger("t", [sys.executable, "-c", "pass"], ["model_version.created"])
    for argv in (
        ("models", "delete", "m"),
        ("versions", "delete", "m", "1"),
        ("webhooks", "delete", hook.webhook_id),
        ("triggers", "delete", trigger.trigger_id),
    ):
        code, out, err = run(*argv)
        assert code == EXIT_INVALID and out == "", argv
        assert "Refusing to delete" in err and "Pass --yes (-y)" in err and "no terminal" in err, err
    assert [mv.version for mv in reg.list_model_versions("m")] == [1, 2]
    assert reg.get_webhook(hook.webhook_id) and reg.get_trigger(trigger.trigger_id)
    assert run("versions", "delete", "m", "1", "-y")[0] == EXIT_OK
    assert run("models", "delete", "m", "--yes")[0] == EXIT_OK
    assert run("webhooks", "delete", hook.webhook_id, "--yes")[0] == EXIT_OK
    assert run("triggers", "delete", trigger.trigger_id, "-y")[0] == EXIT_OK
    assert reg.list_registered_models() == [] and reg.list_triggers() == []


def test_check_fix_asks_only_before_removing_files(run: Run, folder: str, model_dir: Callable[..., str]) -> None:
    _registry_with_versions(folder, model_dir).close()
    assert run("check", "--fix")[0] == EXIT_OK  # nothing to remove: nothing to confirm
    orphan = os.path.join(folder, "models", "not-a-model")
    os.makedirs(orphan)
    code, _, err = run("check", "--fix")
    assert code == EXIT_INVALID and "Refusing to remove 1 leftover" in err and orphan in err
    assert os.path.isdir(orphan)
    assert run("check", "--fix", "--yes")[0] == EXIT_OK and not os.path.exists(orphan)


def run_in_pty(
    argv: list[str], *, answer: str | None = None, timeout: float = 60, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """Run ``registry ARGV`` with stdin and stderr on a pseudo-terminal (stdout a pipe); type ``answer`` when
    it asks. Returns (exit status, stdout, what the terminal showed)."""
    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "registry", *argv], stdin=slave, stdout=subprocess.PIPE, stderr=slave, env=env
    )
    os.close(slave)
    shown = b""
    answered = False
    deadline = time.monotonic() + timeout
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    chunk = b""
                shown += chunk
                if not chunk:
                    break
            if answer is not None and not answered and b"[y/N]" in shown:
                os.write(master, answer.encode())
                answered = True
            if not ready and proc.poll() is not None:
                break
            assert time.monotonic() < deadline, shown
        assert proc.stdout is not None
        with proc.stdout:
            out = proc.stdout.read().decode()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return proc.returncode, out, shown.decode(errors="replace")


def test_on_a_terminal_deleting_asks_and_no_means_no(folder: str, model_dir: Callable[..., str]) -> None:
    _registry_with_versions(folder, model_dir).close()
    code, _, shown = run_in_pty(["--registry", folder, "versions", "delete", "m", "2"], answer="n\n")
    assert "Delete 'm' version 2 and its files (its number is never reused)? [y/N]" in shown
    assert code == EXIT_INVALID and "Not confirmed; nothing was changed." in shown
    code, _, shown = run_in_pty(["--registry", folder, "models", "delete", "m"], answer="y\n")
    assert "Delete model 'm' (its 2 version(s) and their files, for good)? [y/N]" in shown
    assert code == EXIT_OK, shown
    with Registry(folder) as reg:
        assert reg.list_registered_models() == []


# -- progress ------------------------------------------------------------------------------------------------------


@pytest.fixture
def big_model(tmp_path: Path) -> str:
    folder = tmp_path / "big"
    folder.mkdir()
    (folder / "MLmodel").write_text("flavors: {}\n")
    for i in range(3):
        (folder / f"part-{i}.bin").write_bytes(os.urandom(300_000))
    return str(folder)


def test_quick_work_shows_no_progress(run: Run, big_model: str) -> None:
    code, _, err = run("versions", "register", "m", big_model)  # well under the half second of delay
    assert (code, err) == (EXIT_OK, "")


def test_progress_is_plain_lines_off_a_terminal_and_nothing_when_quiet(
    run: Run, folder: str, big_model: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRY_PROGRESS_DELAY", "0")
    code, _, err = run("versions", "register", "m", big_model)
    assert code == EXIT_OK
    lines = err.splitlines()
    assert lines[0].startswith("register: 0%  0/4 files  0 B/900.0 kB")
    assert lines[-1].startswith("register: 100%  4/4 files  900.0 kB/900.0 kB") and "done in" in lines[-1]
    assert "\r" not in err
    code, _, err = run("export", "models:/m/1", str(tmp_path / "out"))
    assert code == EXIT_OK and err.splitlines()[-1].startswith("export: 100%  4/4 files")
    code, _, err = run("check")
    assert code == EXIT_OK and err.splitlines()[-1].startswith("check: 100%  4/4 files  900.0 kB/900.0 kB")
    bundle = str(tmp_path / "m.tar")
    code, _, err = run("bundle", "create", bundle)
    assert code == EXIT_OK and err.splitlines()[-1].startswith("bundle: 100%  4/4 files  900.0 kB/900.0 kB")
    code, _, err = run("--registry", str(tmp_path / "other"), "bundle", "import", bundle)  # the last one counts
    assert code == EXIT_OK and err.splitlines()[-1].startswith("import: 100%  4/4 files  900.0 kB/900.0 kB")
    for argv in (("versions", "register", "m", big_model, "--quiet"), ("check", "-q"), ("check", "--json")):
        code, _, err = run(*argv)
        assert (code, err) == (EXIT_OK, ""), argv


def test_progress_is_a_bar_on_a_terminal(folder: str, big_model: str) -> None:
    argv = ["--registry", folder, "versions", "register", "m", big_model]
    code, out, shown = run_in_pty(argv, env={"REGISTRY_PROGRESS_DELAY": "0"})
    assert code == EXIT_OK and "Registered 'm' version 1." in out
    assert "\r\x1b[Kregister: [" in shown and "] 100%  4/4 files" in shown and "done in" in shown


# -- small things ---------------------------------------------------------------------------------------------------


def test_max_results_zero_is_refused_as_the_api_refuses_it(run: Run, folder: str) -> None:
    Registry(folder).create_registered_model("m")
    for argv in (("search", "models"), ("search", "versions"), ("webhooks", "list")):
        code, _, err = run(*argv, "--max-results", "0")
        assert code == EXIT_INVALID and "max_results" in err, (argv, err)


def test_tables_fit_the_terminal_and_wide_keeps_everything(
    run: Run, folder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    long = "a very long description " * 20
    Registry(folder).create_registered_model("m", description=long + "\nsecond line")
    monkeypatch.setenv("COLUMNS", "100")
    _, out, _ = run("models", "list")
    assert all(len(line) <= 100 for line in out.splitlines()) and "…" in out
    _, out, _ = run("models", "list", "--wide")
    assert long.strip() in out and "second line" in out and len(out.splitlines()) == 2  # one row, one line
    _, out, _ = run("models", "list", "--json")
    assert json.loads(out)["items"][0]["description"] == long + "\nsecond line"
    monkeypatch.delenv("COLUMNS")
    _, out, _ = run("models", "list")  # not a terminal: nothing is cut
    assert long.strip() in out


def test_the_table_keeps_every_column_when_even_headers_do_not_fit() -> None:
    import io

    stream = io.StringIO()
    out = Output(stream=stream)
    out.width = lambda: 10  # type: ignore[method-assign]
    out.table([{"name": "m", "description": "x" * 50}], ["name", "description"])
    header, row = stream.getvalue().splitlines()
    assert header.split() == ["NAME", "DESCRIPTION"] and row.startswith("m") and row.endswith("…")


@pytest.fixture
def kolkata(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("kolkata")
def test_times_show_their_zone_and_at_reads_iso_8601_with_zones() -> None:
    assert format_time(0) == "1970-01-01 05:30:00+05:30"
    assert parse_time("1970-01-01T00:00:00Z") == 0
    assert parse_time("1970-01-01T01:00+01:00") == 0
    assert parse_time("1970-01-01 05:30") == 0  # no zone: local time, as the tables show it
    assert parse_time("86400000") == 86_400_000
    with pytest.raises(InvalidParameterValue, match="ISO 8601 time, with a zone") as exc:
        parse_time("next tuesday")
    assert "milliseconds since the epoch" in str(exc.value)


def test_check_suggests_fix_only_for_what_fix_repairs(run: Run, folder: str, model_dir: Callable[..., str]) -> None:
    reg = _registry_with_versions(folder, model_dir)
    stored = reg.get_model_version("m", 1).storage_location
    assert stored is not None
    reg.close()
    Path(stored, "model.bin").write_text("tampered")
    code, out, _ = run("check")
    assert code == 5 and "PROBLEM: corrupt_version" in out
    assert "registry check --fix" not in out
    assert "corrupt_version: --fix cannot repair this; re-register the model or delete the version." in out
    os.makedirs(os.path.join(folder, "models", "orphan"))
    _, out, _ = run("check")
    assert "Run `registry check --fix` to remove the leftovers." in out


# -- completion ------------------------------------------------------------------------------------------------------


def _complete(script: str, words: list[str]) -> list[str]:
    """Ask the bash completion function what it offers after ``words`` (the last one being completed)."""
    program = (
        f"{script}\nCOMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}\n"
        '_registry_complete; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    result = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True)
    return result.stdout.split()


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_the_bash_completion_script_is_valid_and_completes_the_commands(run: Run, tmp_path: Path) -> None:
    code, script, _ = run("completion", "bash")
    assert code == EXIT_OK and script == bash_script(build_parser())
    path = tmp_path / "registry.bash"
    path.write_text(script)
    subprocess.run(["bash", "-n", str(path)], check=True)
    top = _complete(script, ["registry", ""])
    assert {"models", "versions", "alias", "check", "completion", "sync"} <= set(top)
    assert _complete(script, ["registry", "mo"]) == ["models"]
    assert set(_complete(script, ["registry", "models", ""])) == {
        "list", "show", "create", "rename", "delete", "describe", "tag", "untag"
    }  # fmt: skip
    assert "--yes" in _complete(script, ["registry", "models", "delete", "--"])
    assert _complete(script, ["registry", "--log-level", "DE"]) == ["DEBUG"]
    assert _complete(script, ["registry", "completion", ""]) == ["bash", "zsh"]


def test_the_zsh_completion_script_lists_the_commands(run: Run) -> None:
    code, script, _ = run("completion", "zsh")
    assert code == EXIT_OK and script == zsh_script(build_parser()) and script.startswith("#compdef registry")
    assert "'registry models' 'list show create rename delete describe tag untag'" in script
    if shutil.which("zsh") is None:
        pytest.skip("zsh is not installed: the script's syntax is not checked")
    subprocess.run(["zsh", "-n", "-c", script], check=True)


# -- logging ---------------------------------------------------------------------------------------------------------


def test_verbose_and_log_level_show_the_librarys_log(run: Run, folder: str) -> None:
    assert "DEBUG" not in run("models", "create", "a")[2]
    code, _, err = run("-vv", "models", "create", "b")
    assert code == EXIT_OK and "DEBUG registry.store.folder: registry: lock acquired" in err
    code, _, err = run("models", "create", "c", "--log-level", "debug")
    assert code == EXIT_OK and "registry: committed" in err
    code, _, err = run("models", "create", "d", "-v")
    assert code == EXIT_OK and "DEBUG" not in err  # -v is INFO
    assert run("models", "create", "e")[2] == ""  # and the handler is gone again


def test_the_library_prints_nothing_on_normal_operations(
    tmp_path: Path, model_dir: Callable[..., str], capfd: pytest.CaptureFixture[str]
) -> None:
    with Registry(str(tmp_path / "reg")) as reg:
        reg.create_registered_model("m", description="d")
        reg.create_model_version("m", model_dir())
        reg.create_model_version("m", model_dir(), progress=lambda p: None)
        reg.transition_model_version_stage("m", 1, "Staging")
        reg.set_registered_model_alias("m", "champion", 2)
        reg.search_model_versions("name = 'm'")
        reg.export_model_version("models:/m@champion", str(tmp_path / "out"))
        reg.check(fix=True)
        reg.version_at("m", 0 + int(time.time() * 1000), alias="champion")
        reg.delete_model_version("m", 1)
        reg.delete_registered_model("m")
    assert capfd.readouterr() == ("", "")


def test_the_library_never_prints_and_logs_only_under_registry() -> None:
    # Outside the command line (and the demo it runs), output goes through the `registry` logger hierarchy or a
    # callback. The scoring server's access log is the one stream a caller asks for by name (access_log=).
    allowed_streams = {PACKAGE / "web" / "http.py"}
    for path in sorted(PACKAGE.rglob("*.py")):
        if PACKAGE / "cli" in path.parents:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                pytest.fail(f"{path}:{node.lineno} prints; log through logging.getLogger(__name__) instead")
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("stdout", "stderr")
                and isinstance(node.value, ast.Name)
                and node.value.id == "sys"
                and path not in allowed_streams
            ):
                pytest.fail(f"{path}:{node.lineno} writes to sys.{node.attr}")
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "getLogger":
                arg = node.args[0] if node.args else None
                named = isinstance(arg, ast.Name) and arg.id == "__name__"
                literal = isinstance(arg, ast.Constant) and str(arg.value).split(".")[0] == "registry"
                assert named or literal, f"{path}:{node.lineno} logs outside the registry logger hierarchy"
