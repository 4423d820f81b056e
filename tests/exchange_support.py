"""What the exchange tests (bundles, replicas) share: model folders, the source registry they export or sync
from, and everything a registry holds."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from conftest import TickingClock

from registry import Registry


def make_model(folder: Path, content: str) -> str:
    (folder / "data").mkdir(parents=True)
    (folder / "MLmodel").write_text("flavors: {}\n")
    (folder / "data" / "weights.bin").write_bytes(content.encode() * 100)
    (folder / "README").write_text("model " + content)
    (folder / "empty").write_bytes(b"")  # a link or device member in its place would match its size and sha256
    return str(folder)


def model_folder(folder: Path, seed: int, size: int) -> str:
    """A model folder with ``size`` bytes of seeded random weights (big enough to interrupt its copy)."""
    folder.mkdir(parents=True)
    (folder / "MLmodel").write_text("flavors: {}\n")
    (folder / "weights.bin").write_bytes(random.Random(seed).randbytes(size))
    (folder / "extra").mkdir()
    (folder / "extra" / "notes.txt").write_text(f"model {seed}")
    return str(folder)


def make_source(tmp_path: Path) -> Registry:
    """The registry the bundle and sync tests start from: ``fraud`` with versions 1 (Archived, @old), 3
    (Production, @champion, validated), 4 (files elsewhere) and 2 deleted, so numbers have a gap; ``churn`` with
    one version. Every version with files has a run id, tags and a run link; the clock ticks, the user is alice."""
    reg = Registry(str(tmp_path / "source"), clock=TickingClock(), user="alice")
    reg.create_registered_model("fraud", tags={"team": "risk"}, description="Fraud scores")
    for i in range(1, 4):
        reg.create_model_version(
            "fraud", make_model(tmp_path / f"m{i}", f"w{i}"), run_id=f"run{i}", tags={"i": str(i)}, run_link=f"l{i}"
        )
    reg.create_model_version("fraud", "s3://bucket/fraud/4", description="files elsewhere")
    reg.delete_model_version("fraud", 2)
    reg.transition_model_version_stage("fraud", 3, "Staging")
    reg.transition_model_version_stage("fraud", 3, "Production")
    reg.transition_model_version_stage("fraud", 1, "Staging")
    reg.transition_model_version_stage("fraud", 1, "Archived")
    reg.set_registered_model_alias("fraud", "champion", 3)
    reg.set_registered_model_alias("fraud", "old", 1)
    reg.set_model_version_tag("fraud", 3, "validated", "true")
    reg.create_registered_model("churn")
    reg.create_model_version("churn", make_model(tmp_path / "c1", "churn"))
    return reg


def snapshot(reg: Registry) -> dict[str, Any]:
    """Everything a registry holds, with its own folder paths left out (they differ by design)."""
    out = {}
    for rm in reg.list_registered_models():
        model = rm.to_dict()
        model.pop("latest_versions")
        versions = []
        for mv in reg.list_model_versions(rm.name):
            row = mv.to_dict()
            if row["storage_location"] is not None:
                if row["source"] == row["storage_location"]:
                    row["source"] = "<its own copy>"
                row.pop("storage_location")
                files = Path(mv.storage_location or "")
                row["files"] = {
                    str(p.relative_to(files)): p.read_bytes() for p in sorted(files.rglob("*")) if p.is_file()
                }
            versions.append(row)
        out[rm.name] = {"model": model, "versions": versions}
    return out
