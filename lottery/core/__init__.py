"""Layer 0: what every other layer may use — the one-line ConfigError (errors.py), the processes of a multi-process
run (distributed.py) and the progress line (progress.py)."""
