"""Running modes over rows: the one-process runner and the output contract (records, summary)."""
