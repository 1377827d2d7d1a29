"""Tests for mutants of query that the rest of the suite let through (docs/mutation.md)."""
