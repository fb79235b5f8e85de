"""Study A, Gaussian mixture (XOR): ν = 0.6, 25% label noise (see lottery.configs.study_a_gmm)."""
from lottery import configs


def get_config(preset: str = "default"):
    return configs.study_a_gmm("xor", nu=0.6, noise=0.25, preset=preset)
