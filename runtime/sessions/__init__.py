"""Sessions in SQL: their messages, which ones count, erasure and retention."""
