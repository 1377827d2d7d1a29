"""Collection: sources, scheduling, politeness and fetching; what it fetches goes through the
ingest path (app/ingest) like a file would."""
