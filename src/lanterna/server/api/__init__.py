"""lanterna's REST API (``/api/v1``): routes and their OpenAPI document."""
