"""The bandit examples' trainer, at the path TF-Agents' scripts and tutorials import."""
