"""The durable store: tables, queries and migrations, on SQLite or PostgreSQL."""
