"""Bandit environments (TF-Agents' `bandits.environments`)."""
