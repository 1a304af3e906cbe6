"""Bandit examples (TF-Agents' `bandits.agents.examples`): the v2 trainer."""
