"""Layer 1: every SQLite store (case journal, customers, decision log) and the data
directory's layout. Imports only `foureyes.errors`."""
