"""Storage: the SQLite database (offers, events, runs, outbox) and the spreadsheet sinks."""
