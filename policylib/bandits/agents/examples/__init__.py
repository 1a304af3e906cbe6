"""Bandit agents examples (TF-Agents' `bandits.agents.examples`)."""
