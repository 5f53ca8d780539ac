"""Queries and writes: `(session, *, ...) -> model`. Nothing here commits; the caller's unit of
work owns the transaction."""
