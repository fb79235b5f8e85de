"""A grid of corrupted examples: rows = corruption types, columns = the clean image and the severities."""
from __future__ import annotations

import numpy as np


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot(images_by_name: dict[str, list[np.ndarray]], clean: np.ndarray, path: str, cell_inches: float = 0.9,
         dpi: int = 100, severities: tuple = (1, 2, 3, 4, 5)) -> None:
    """Writes a PNG to ``path``: one row per entry of ``images_by_name`` (name → one uint8 [H, W, C] image per
    entry of ``severities``), the first column ``clean`` [H, W, C]; C = 1 is drawn in gray.
    The figure is ((1 + S)·cell_inches) × (rows·cell_inches) inches at ``dpi``."""
    plt = pyplot()
    names = list(images_by_name)
    columns = 1 + len(severities)
    fig, axes = plt.subplots(len(names), columns, figsize=(columns * cell_inches, max(1, len(names)) * cell_inches),
                             squeeze=False, dpi=dpi)

    def show(ax, img):
        img = np.asarray(img)
        if img.ndim == 3 and img.shape[-1] == 1:
            ax.imshow(img[..., 0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        else:
            ax.imshow(img, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])

    for r, name in enumerate(names):
        row = images_by_name[name]
        if len(row) != len(severities):
            raise ValueError(f"images_by_name: {name!r} has {len(row)} images; expected {len(severities)} "
                             f"(severities {tuple(severities)})")
        for c, img in enumerate([clean] + list(row)):
            show(axes[r, c], img)
            if r == 0:
                axes[r, c].set_title("clean" if c == 0 else str(severities[c - 1]), fontsize=7)
        axes[r, 0].set_ylabel(name, fontsize=6, rotation=0, ha="right", va="center")
    fig.subplots_adjust(left=0.3, right=0.99, top=0.97, bottom=0.01, wspace=0.05, hspace=0.05)
    fig.savefig(path, dpi=dpi, format="png")
    plt.close(fig)
