"""Test support shared across test folders (importable as ``support`` from the tests)."""
