"""The stub databricks package; a regular package so it shadows an installed databricks-sdk
(mlflow-skinny, a test dependency, pulls the real one in)."""
