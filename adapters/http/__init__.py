"""The HTTP edge: `tokenbridge serve`, a JSON API (OpenAPI at /openapi.json) and the operations
console built on it (static files in static/). The core knows nothing of it."""
