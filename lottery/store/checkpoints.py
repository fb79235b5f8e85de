"""Checkpoints of a bucket's IMP run, through Orbax (the only module that imports it).

One directory per bucket; inside, one Orbax checkpoint per item (``rewind``, ``level_003``,
``level_003_reinit`` …) and beside it ``<item>.sha256`` holding a digest of every array.
Orbax writes each checkpoint to a temporary directory and renames it when complete; the
digest is written (atomically) after that, so an item counts as saved only when both exist
and the arrays read back match the digest — a truncated or corrupted checkpoint is never
loaded, it is reported as missing and its level is recomputed.

In a multi-process run every process calls ``save`` with the same (gathered) tree: Orbax, multi-host aware,
synchronises them and process 0 writes the arrays; process 0 then writes the digest, and all wait for it
at a barrier before going on, so every process then loads the same items (the workdir must be on storage
they all see). A process that dies mid-save leaves an item without its digest: missing on restart.
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil

import jax
import numpy as np

from lottery.core import distributed
from lottery.store import files


@functools.cache
def _hide_orbax_info() -> None:
    """Orbax logs every save and restore at INFO through absl's logger: hidden by setting that logger to WARNING,
    once, when the first bucket's checkpoints are opened (before Orbax is imported), not when this module is."""
    logging.getLogger("absl").setLevel(logging.WARNING)


def digest(tree) -> str:
    """SHA-256 over every leaf's path, dtype, shape and bytes."""
    h = hashlib.sha256()
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        a = np.ascontiguousarray(np.asarray(leaf))
        h.update(jax.tree_util.keystr(path).encode())
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


class BucketCheckpoints:
    """Save and load the items of one bucket under ``root``."""

    def __init__(self, root: str):
        _hide_orbax_info()
        import orbax.checkpoint as ocp

        self.root = os.path.abspath(root)  # Orbax refuses relative paths
        os.makedirs(self.root, exist_ok=True)
        self._ocp = ocp

    def _paths(self, name: str) -> tuple[str, str]:
        return os.path.join(self.root, name), os.path.join(self.root, name + ".sha256")

    def save(self, name: str, tree) -> None:
        """Saves a pytree of arrays (host numpy copies are taken first; with several processes, collectively)."""
        tree = jax.tree.map(distributed.host, tree)
        path, sums = self._paths(name)
        if distributed.primary() and os.path.exists(sums):
            os.remove(sums)
        distributed.barrier(f"checkpoint-start-{os.path.basename(self.root)}/{name}")  # none still reads the old item
        checkpointer = self._ocp.StandardCheckpointer()
        checkpointer.save(path, tree, force=True)
        checkpointer.wait_until_finished()
        checkpointer.close()
        files.write_text(sums, json.dumps({"sha256": digest(tree)}))  # process 0 only
        distributed.barrier(f"checkpoint-done-{os.path.basename(self.root)}/{name}")

    def load(self, name: str):
        """The saved pytree as numpy arrays, or None if absent, incomplete or corrupted."""
        path, sums = self._paths(name)
        if not (os.path.isdir(path) and os.path.exists(sums)):
            return None
        try:
            with open(sums) as f:
                expected = json.load(f)["sha256"]
            checkpointer = self._ocp.StandardCheckpointer()
            tree = checkpointer.restore(path)
            checkpointer.close()
        except Exception:  # an unreadable checkpoint is one we do not have
            return None
        tree = jax.tree.map(np.asarray, tree)
        if digest(tree) != expected:
            return None
        return tree

    def discard(self, name: str) -> None:
        if not distributed.primary():
            return
        path, sums = self._paths(name)
        if os.path.exists(sums):
            os.remove(sums)
        shutil.rmtree(path, ignore_errors=True)
