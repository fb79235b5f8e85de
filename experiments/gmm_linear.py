"""Study A, Gaussian mixture (linear): ν = 0.2, 5% label noise (see lottery.configs.study_a_gmm)."""
from lottery import configs


def get_config(preset: str = "default"):
    return configs.study_a_gmm("linear", nu=0.2, noise=0.05, preset=preset)
