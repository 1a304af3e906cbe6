"""Bandit agents (TF-Agents' `bandits.agents`)."""
