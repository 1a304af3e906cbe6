"""Categorical (C51) DQN: a distribution over returns per action."""
