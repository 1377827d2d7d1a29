"""Tests for mutants of linking that the rest of the suite let through (docs/mutation.md)."""
