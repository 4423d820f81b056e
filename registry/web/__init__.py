"""The HTTP/1.1 layer under both servers: `registry.web.http` answers every request, however malformed,
with bounded bodies, deadlines and connections, for the scoring server (`registry.serving`) and the web UI
(`registry.ui`) alike. It knows nothing of models or pages: each server hands it an application."""
