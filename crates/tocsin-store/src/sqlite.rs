// SQLite backend (in progress)
