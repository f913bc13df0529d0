"""Operations on the database: take a session and the acting user, flush, never commit.

The request (or CLI command) that calls them commits once, or rolls everything back.
"""
