"""Bandit policies kept for TF-Agents import compatibility (`MixturePolicy`)."""
