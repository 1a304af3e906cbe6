"""Bandit spec helpers (TF-Agents' `tf_agents.bandits.specs` path)."""
