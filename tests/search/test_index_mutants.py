"""Tests for mutants of index that the rest of the suite let through (docs/mutation.md)."""
