"""Replay buffers for bandits."""
