"""Bandit helpers kept for TF-Agents import compatibility."""
