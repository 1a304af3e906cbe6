"""REINFORCE (Monte-Carlo policy gradient), with an optional value baseline."""
