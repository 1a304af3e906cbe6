"""DDPG's actor network, for `ActorPolicy` with deterministic continuous actions."""
