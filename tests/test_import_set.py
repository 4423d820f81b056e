"""What ``from registry import Registry`` loads in a fresh process: the client's modules and nothing they defer.

A start-up budget is guarded here by the set of modules imported, never by a timing (timings are for
``benchmarks/bench_core.py``): the client defers the domain, the store backends, search, events, attrs and
YAML to the first call that needs them, so a process that only names ``Registry`` pays for none of them.
"""

from __future__ import annotations

import subprocess
import sys

# Everything `from registry import Registry` may import of this package: the client (the Registry class and
# the mixins it is built from) and the constants its signatures name.
ALLOWED = {
    "registry",
    "registry.errors",
    "registry.client",
    "registry.client.creation",
    "registry.client.files",
    "registry.client.governance",
    "registry.client.imports",
    "registry.client.journal",
    "registry.client.mlflow_client",
    "registry.client.names",
    "registry.client.registry",
    "registry.client.replicas",
    "registry.client.webhooks",
    "registry.store",
    "registry.store.limits",
    "registry.store.uris",
}
# Third-party and heavier standard modules a first call may need but the import must not pay for.
DEFERRED = {"attr", "attrs", "yaml", "cloudpickle", "filelock", "tarfile", "json", "hashlib", "uuid", "typing"}


def modules_after(code: str) -> set[str]:
    script = f"import sys\n{code}\nprint('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_importing_registry_loads_only_the_client() -> None:
    loaded = modules_after("from registry import Registry")
    ours = {m for m in loaded if m == "registry" or m.startswith("registry.")}
    assert ours <= ALLOWED, sorted(ours - ALLOWED)
    assert not (loaded & DEFERRED), sorted(loaded & DEFERRED)


def test_importing_the_package_loads_nothing() -> None:
    loaded = modules_after("import registry")
    assert {m for m in loaded if m.startswith("registry")} == {"registry"}


def test_a_cold_search_loads_no_webhooks_exchange_or_models(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from registry import Registry

    folder = str(tmp_path / "r")
    reg = Registry(folder)
    reg.create_registered_model("m", tags={"team": "a"})
    reg.close()
    loaded = modules_after(
        f"from registry import Registry\nRegistry({folder!r}).search_model_versions(\"tags.a = 'b'\")"
    )
    unwanted = {
        m
        for m in loaded
        if m.startswith(("registry.events.webhooks", "registry.exchange", "registry.models", "registry.flavors"))
        or m in ("cloudpickle", "tarfile")
    }
    assert not unwanted, sorted(unwanted)
