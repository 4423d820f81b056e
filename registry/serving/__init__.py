"""Serving models over HTTP: MLflow's scoring protocol (`registry.serving.scoring`), the scoring server
(`registry.serving.server`, ``registry serve``), and the HTTP/1.1 layer it stands on
(`registry.web.http`), which answers every request, however malformed."""
