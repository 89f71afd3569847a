"""The HTTP layer (exporter-toolkit's `web/`): the server and its limits, basic auth, TLS, the web
configuration file."""
