"""Behavioral cloning: supervised learning of the actions in recorded experience."""
