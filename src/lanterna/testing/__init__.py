"""Test helpers shipped to users: a pytest plugin and a local OpenAI-compatible server."""
