"""Tests for mutants of names that the rest of the suite let through (docs/mutation.md)."""
