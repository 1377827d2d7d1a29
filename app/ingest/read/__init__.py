"""Read: find article files, feeds and pages, and turn each into a raw draft or a failure."""
