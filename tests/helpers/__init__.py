"""Helpers shared by the project's own tests (not the public test kit)."""
