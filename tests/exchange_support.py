"""What the exchange tests (bundles, replicas) share: a small model folder, and everything a registry holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from registry import Registry


def make_model(folder: Path, content: str) -> str:
    (folder / "data").mkdir(parents=True)
    (folder / "MLmodel").write_text("flavors: {}\n")
    (folder / "data" / "weights.bin").write_bytes(content.encode() * 100)
    (folder / "README").write_text("model " + content)
    (folder / "empty").write_bytes(b"")  # a link or device member in its place would match its size and sha256
    return str(folder)


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
