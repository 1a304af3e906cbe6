"""Base utilities: the bottom layer, importing nothing else of policylib.

Lazy TensorFlow access, nest helpers, argument checks, optional-extra loading,
contracts, atomic directories and file modes, quiet saves and native-stderr
filtering. Everything above (specs, trajectories, the RL utilities in
`policylib.utils`) may import these; they import only each other.
"""
