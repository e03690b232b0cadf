"""Storage adapters: SQLAlchemy 2 Core on SQLite (default) and PostgreSQL."""
