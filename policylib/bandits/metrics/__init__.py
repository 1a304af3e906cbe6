"""Bandit metrics (TF-Agents' `bandits.metrics`)."""
