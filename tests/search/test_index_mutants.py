"""Tests for mutants of app/search/tantivy/index.py that the rest of the suite let through
(docs/mutation.md). None so far: the filter clauses in scope (SearchIndex._filters and
_range) are pinned by tests/search/test_articles_mutants.py, which runs every filter on the
index too ([tantivy]). The file stays listed in [tool.mutmut] so that adding a test here does
not change mutmut's test selection (which would make it check every mutant again)."""
