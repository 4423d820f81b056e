"""Moving models between registries: bundles (one verified tar file) and the MLflow border (importing from an
MLflow registry, pushing into an MLflow server).

This layer sits below the client and takes the registry it works on as an argument (a `RegistryLike`,
which `registry.Registry` is): it reads through the client's public methods and writes only through
`import_models()`, never through the store. ``Registry.export_bundle``,
``Registry.import_bundle``, ``Registry.import_mlflow`` and ``Registry.push_to_mlflow`` hand themselves in.
"""

from registry.exchange.protocol import RegistryLike

__all__ = ["RegistryLike"]
