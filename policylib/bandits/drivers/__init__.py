"""Driver helpers for bandits (single-step episodes)."""
