"""DQN and Double DQN agents."""
