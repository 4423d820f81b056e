"""Serving models over HTTP: MLflow's scoring protocol (:mod:`registry.serving.scoring`), the scoring server
(:mod:`registry.serving.server`, ``registry serve``), and the HTTP/1.1 layer it stands on
(:mod:`registry.web.http`), which answers every request, however malformed."""
