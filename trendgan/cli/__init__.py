"""Typer CLI: thin wrappers over the library (see trendgan/cli/app.py)."""
