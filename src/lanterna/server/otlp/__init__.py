"""OTLP/HTTP trace ingest: decoding (protobuf, JSON) and the /v1/traces route."""
