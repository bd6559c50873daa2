"""MLflow tracking-server endpoints for unmodified MLflow clients."""
