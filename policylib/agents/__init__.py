"""Agent-side networks that policies are built with (the agents themselves are not here)."""
