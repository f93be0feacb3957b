"""The web UI: server-rendered pages (Jinja2, autoescaped) made live with htmx (vendored in
static/). Every page goes through the workspace's use cases, like the CLI and the API."""
