"""Type aliases used across policylib's public signatures."""
