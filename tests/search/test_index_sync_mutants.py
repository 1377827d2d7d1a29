"""Tests for mutants of index_sync that the rest of the suite let through (docs/mutation.md)."""
