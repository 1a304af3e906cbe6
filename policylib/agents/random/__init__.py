"""Agents that do not learn: a fixed policy, or uniformly random actions."""
