"""Audit store tests: SQLite always, PostgreSQL wherever its server binaries are installed."""
