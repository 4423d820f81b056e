"""SIGKILL torture: writer processes doing every operation (rename and delete included) on one registry folder,
killed at random; after each round the folder must open, ``check`` must pass, every acknowledged write must be
in the journal, and the live views (a fresh handle, one held across all rounds, one opened at the round's start)
must equal the fold of the whole journal. An import of two models is one commit of two records: a kill inside
its append must leave neither (the next writer cuts the unfinished commit off).

A write is acknowledged when the call returned and the writer printed the events it committed (seq, type,
model id), which it learns from its own subscription. Quick in CI (``test_torture.py``); long on demand::

    python tests/torture.py --rounds 300

prints the rounds, kills, acknowledged writes, lost writes, unopenable folders, failed checks, views that
differed from the replay and commits seen in part (the last five must be 0) and exits non-zero otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from typing import Any

import attrs

from registry import Registry
from registry.domain.state import Event, RegistryState
from registry.store.journal import Journal

WRITER = textwrap.dedent(
    """
    import random, sys
    from registry import ImportedModel, ImportedVersion, Registry, RegistryError

    root, seed, src = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rng = random.Random(seed)
    names = ["a", "b", "c", "d"]
    committed = []

    def open_registry():
        reg = Registry(root, lock_timeout=60)
        reg.subscribe(committed.append)  # runs after each commit made through this handle, before the call returns
        return reg

    reg = open_registry()
    print("ready", flush=True)
    n = 0
    while True:
        n += 1
        name, other, version = rng.choice(names), rng.choice(names), rng.randint(1, 6)
        key, value = rng.choice(["k1", "k2"]), str(rng.randint(0, 9))
        alias, stage = rng.choice(["x", "y"]), rng.choice(["None", "Staging", "Production", "Archived"])
        op = rng.randrange(18)
        committed.clear()
        try:
            if op == 0:
                reg.create_registered_model(name, description=f"{seed}-{n}")
            elif op == 1:
                reg.rename_registered_model(name, other)
            elif op == 2 and rng.random() < 0.4:
                reg.delete_registered_model(name)
            elif op == 3:
                reg.update_registered_model(name, f"{seed}-{n}")
            elif op == 4:
                reg.set_registered_model_tag(name, key, value)
            elif op == 5:
                reg.delete_registered_model_tag(name, key)
            elif op in (6, 7):
                source = src if rng.random() < 0.3 else "s3://bucket/model"
                reg.create_model_version(name, source, tags={"n": str(n)})
            elif op == 8:
                reg.update_model_version(name, version, f"{seed}-{n}")
            elif op == 9:
                reg.delete_model_version(name, version)
            elif op == 10:
                archive = stage in ("Staging", "Production") and rng.random() < 0.5
                reg.transition_model_version_stage(name, version, stage, archive_existing_versions=archive)
            elif op == 11:
                reg.set_model_version_tag(name, version, key, value)
            elif op == 12:
                reg.delete_model_version_tag(name, version, key)
            elif op == 13:
                reg.set_registered_model_alias(name, alias, version)
            elif op == 14:
                reg.delete_registered_model_alias(name, alias)
            elif op == 15:
                reg.get_model_version_by_alias(name, alias)
            elif op == 17:  # one or two models from elsewhere, one record each, one commit (kept number, stage,
                # alias, maybe files): a kill inside the append leaves a commit without its last record
                number = rng.randint(1, 8)
                files = {(name, number): src} if rng.random() < 0.3 else None
                version = ImportedVersion(number, source=None if files else "s3://bucket/imported", stage=stage)
                models = [ImportedModel(name, tags={key: value}, aliases={alias: number}, versions=[version])]
                if other != name and rng.random() < 0.5:
                    models.append(ImportedModel(other, versions=[ImportedVersion(number, source="s3://bucket/o")]))
                reg.import_models(models, files, origin=f"import-{seed}-{n}-{len(models)}")
            elif op == 16:
                reg.close()  # a checkpoint (documents, then view.json): killed in the middle of it sometimes
                reg = open_registry()
        except RegistryError:
            pass  # refused (no such model, name taken, ...): nothing was written
        if committed:
            print("ack", n, " ".join(f"{e.seq}:{e.type}:{e.model_id}" for e in committed), flush=True)
    """
)


@attrs.define
class Figures:
    rounds: int = 0
    kills: int = 0
    acknowledged: int = 0
    lost: int = 0
    unopenable: int = 0
    failed_checks: int = 0
    view_mismatches: int = 0
    partial_commits: int = 0
    writer_errors: int = 0
    notes: list[str] = attrs.field(factory=list)

    def ok(self) -> bool:
        return not (
            self.lost
            or self.unopenable
            or self.failed_checks
            or self.view_mismatches
            or self.partial_commits
            or self.writer_errors
        )

    def table(self) -> str:
        rows = [
            ("rounds", self.rounds),
            ("kills (SIGKILL)", self.kills),
            ("acknowledged writes", self.acknowledged),
            ("lost writes", self.lost),
            ("unopenable folders", self.unopenable),
            ("failed checks", self.failed_checks),
            ("views != replay", self.view_mismatches),
            ("commits seen in part", self.partial_commits),
            ("writer errors", self.writer_errors),
        ]
        return "\n".join(f"{label:<22}{value:>8}" for label, value in rows)


def picture(reg: Registry) -> dict[str, Any]:
    out = {}
    for m in reg.list_registered_models():
        versions = {
            v.version: (v.current_stage.value, v.tags, v.description, sorted(v.aliases), v.digest)
            for v in reg.list_model_versions(m.name)
        }
        out[m.name] = (m.description, m.tags, m.aliases, versions)
    return out


def _raw_commits(path: str) -> list[int]:
    """The length of each commit in the journal file as its own markers say (``"more": N`` on every record but a
    commit's last), read straight from the lines: the ground truth the reader's answer is checked against."""
    sizes: list[int] = []
    opened = 0
    with open(path, "rb") as f:
        for line in f.read().split(b"\n"):
            try:
                record = json.loads(line[9:])
            except ValueError:
                break  # a torn last line
            opened += 1
            if not record.get("more"):
                sizes.append(opened)
                opened = 0
    if opened:
        sizes.append(-opened)  # an unfinished commit at the end (negative: the reader must not return it)
    return sizes


def replay(root: str) -> tuple[dict[str, Any], dict[int, tuple[str, str | None]], list[str]]:
    """The picture of the fold of the whole journal, each committed seq's (type, model id), and the commits the
    reader returned in part (a commit of N records, e.g. an import of two models, is seen whole or not at all)."""
    path = os.path.join(root, "journal", "journal.log")
    records, _end, _torn = Journal(path).read(0)
    state = RegistryState(os.path.join(root, "models"))
    committed = {}
    for record in records:
        event = Event.from_dict(record)
        state.apply(event)
        committed[event.seq] = (event.type, event.model_id)
    # The reader returns whole commits from the start of the file: its count must end on a commit boundary.
    partial, start = [], 0
    for size in _raw_commits(path):
        end = start + abs(size)
        if start < len(records) < end or (size < 0 and len(records) > start):
            partial.append(f"records {start + 1}-{end} (a commit of {abs(size)}), {len(records)} returned")
        start = end
    out = {}
    for name in state.names():
        rm = state.registered_model(name)
        versions = {
            v.version: (v.current_stage.value, v.tags, v.description, sorted(v.aliases), v.digest)
            for v in state.model_versions(name)
        }
        out[name] = (rm.description, rm.tags, rm.aliases, versions)
    return out, committed, partial


def _start(root: str, seed: int, src: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, root, str(seed), src], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _ready(proc: subprocess.Popen[bytes]) -> bool:
    assert proc.stdout is not None
    line = b""
    while not line.endswith(b"\n"):
        chunk = os.read(proc.stdout.fileno(), 1)
        if not chunk:
            return False
        line += chunk
    return line == b"ready\n"


def run(rounds: int, *, writers: int = 2, seed: int = 0, folder: str | None = None, verbose: bool = False) -> Figures:
    """Run ``rounds`` rounds (see the module docstring) and return the figures."""
    rng = random.Random(seed)
    work = folder or tempfile.mkdtemp(prefix="registry-torture-")
    root = os.path.join(work, "r")
    src = os.path.join(work, "src")
    os.makedirs(os.path.join(src, "sub"), exist_ok=True)
    for i in range(8):
        with open(os.path.join(src, f"f{i}.bin"), "wb") as f:
            f.write(os.urandom(4096))
    with open(os.path.join(src, "sub", "deep.txt"), "w") as f:
        f.write("deep")
    Registry(root, policy="mlflow").close()
    held = Registry(root)  # one handle held across every round, never reopened
    figures = Figures()
    acked: dict[int, tuple[str, str]] = {}
    try:
        for number in range(rounds):
            figures.rounds += 1
            stale = Registry(root)  # opened from the last checkpoint, before this round's writes
            procs = [_start(root, rng.randrange(1 << 30), src) for _ in range(writers)]
            for proc in procs:
                if not _ready(proc):
                    figures.writer_errors += 1
                    figures.notes.append(f"round {number}: a writer died starting: {proc.communicate()[1][-500:]!r}")
            for proc in procs:
                time.sleep(rng.uniform(0.02, 0.35))  # kill somewhere in the writes
                proc.send_signal(signal.SIGKILL)
            for proc in procs:
                out, err = proc.communicate(timeout=60)
                if proc.returncode == -signal.SIGKILL:
                    figures.kills += 1
                else:
                    figures.writer_errors += 1
                    figures.notes.append(f"round {number}: writer exited {proc.returncode}: {err[-800:]!r}")
                for line in out.decode().splitlines(keepends=True):
                    if not line.startswith("ack ") or not line.endswith("\n"):
                        continue  # the line the kill cut
                    for item in line.split()[2:]:
                        seq, kind, model_id = item.split(":", 2)
                        if int(seq) in acked:
                            figures.lost += 1
                            figures.notes.append(f"round {number}: seq {seq} acknowledged twice")
                        acked[int(seq)] = (kind, model_id)
                        figures.acknowledged += 1
            _verify(root, number, figures, acked, [held, stale], fix=number % 5 == 4)
            stale.close()
            if verbose:
                print(f"round {number + 1}/{rounds}: {figures.acknowledged} acknowledged", flush=True)
    finally:
        held.close()
        if folder is None:
            shutil.rmtree(work, ignore_errors=True)
    return figures


def _verify(
    root: str,
    number: int,
    figures: Figures,
    acked: dict[int, tuple[str, str]],
    handles: list[Registry],
    *,
    fix: bool,
) -> None:
    try:
        fresh = Registry(root)
        live = picture(fresh)
    except Exception as exc:  # any failure to open is what is counted
        figures.unopenable += 1
        figures.notes.append(f"round {number}: the folder does not open: {type(exc).__name__}: {exc}")
        return
    report = fresh.check(fix=fix)
    if not report.ok:
        figures.failed_checks += 1
        figures.notes.append(f"round {number}: check: {report.problems}")
    expected, committed, partial = replay(root)
    if partial:
        figures.partial_commits += 1
        figures.notes.append(f"round {number}: commits returned in part: {partial}")
    for seq, (kind, model_id) in acked.items():
        if committed.get(seq) != (kind, None if model_id == "None" else model_id):
            figures.lost += 1
            figures.notes.append(f"round {number}: acknowledged event {seq} {kind} is not in the journal")
    acked.clear()  # each round checks its own acknowledgements (the journal only grows)
    for name, reg in [("fresh handle", fresh), ("held handle", handles[0]), ("round's handle", handles[1])]:
        seen = live if reg is fresh else picture(reg)
        if seen != expected:
            figures.view_mismatches += 1
            figures.notes.append(f"round {number}: the {name} differs from the replay")
    fresh.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args(argv)
    started = time.monotonic()
    figures = run(args.rounds, writers=args.writers, seed=args.seed, verbose=True)
    print(f"\nSIGKILL torture, seed {args.seed}, {args.writers} writers, {time.monotonic() - started:.0f} s")
    print(figures.table())
    for note in figures.notes[:20]:
        print("  " + note)
    return 0 if figures.ok() else 1


if __name__ == "__main__":
    sys.exit(main())
