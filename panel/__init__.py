"""The web panel: Datasette over offers, events and runs (app), CSV export (export)."""
