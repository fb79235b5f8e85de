"""``python -m lottery.bench``: the engine's throughput against a PyTorch loop and this machine's peak."""
