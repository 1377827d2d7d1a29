"""The tantivy index engine: schema and search, sync from the change log, aggregations."""
