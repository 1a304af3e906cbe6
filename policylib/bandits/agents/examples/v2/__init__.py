"""Bandit agents examples v2 (TF-Agents' `bandits.agents.examples.v2`)."""
