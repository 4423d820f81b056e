"""Serving models over HTTP: MLflow's scoring protocol (:mod:`registry.serving.scoring`) and the scoring server
(:mod:`registry.serving.server`, ``registry serve``)."""
