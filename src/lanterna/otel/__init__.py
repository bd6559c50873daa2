"""Interop with OpenTelemetry: attribute conventions (and, loaded only when used, the SDK
bridge)."""
