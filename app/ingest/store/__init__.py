"""Store: write articles and entities idempotently, find near-duplicates, load bulk records."""
