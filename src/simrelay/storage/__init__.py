"""Database engine, table base, migrations and the optional Redis client."""
