"""Saved searches: matching each ingest batch against them, and their webhook deliveries."""
