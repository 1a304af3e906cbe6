"""Bandit networks (TF-Agents' `bandits.networks`)."""
