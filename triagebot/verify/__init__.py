"""Verification: run each draft against a build with the bug and say honestly whether it reproduces."""
