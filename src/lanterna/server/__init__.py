"""lanterna's server: the ASGI app (``app.create_app``), its REST API, OTLP ingest, MLflow's
tracking-server endpoints and the web UI. Imported only by the ``lanterna server``/``ui``
commands (needs the ``[server]`` extra)."""
