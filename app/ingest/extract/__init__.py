"""Extract: an article's metadata and clean text, each value with where it came from."""
