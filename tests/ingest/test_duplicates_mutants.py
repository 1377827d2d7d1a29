"""Tests for mutants of duplicates that the rest of the suite let through (docs/mutation.md)."""
