"""Tests for mutants of app/search/tantivy/sync.py that the rest of the suite let through
(docs/mutation.md). Empty until the module's survivors are worked through; listed in
[tool.mutmut] already, so that adding a test here does not change mutmut's test selection
(which would make it check every mutant again)."""
