"""Database access: URL resolution, engines, the embedded server, migrations and the bulk writer."""
