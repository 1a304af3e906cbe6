"""Utilities shared across policylib (nests, TF helpers, test helpers)."""
