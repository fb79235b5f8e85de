"""What a run leaves in its workdir: no stale temporaries after a rerun; a config.json that says what the model is."""
import os

from lottery.api import run
from lottery.store import files

from helpers import tiny_config

QUIET = {"log": lambda s: None}


def test_a_rerun_removes_stale_temporaries_and_keeps_the_table(tmp_path):
    wd = tmp_path / "w"
    c = tiny_config(**{"imp.levels": 1, "model.widths": (3,), "eval.fresh_samples": 0})
    first = run(c, str(wd), **QUIET)
    planted = [wd / ".tmp-abc123", wd / "parts" / ".tmp-k9", wd / "checkpoints" / ".tmp-zz"]
    for p in planted:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"half a parquet")  # what a SIGKILL between write and rename leaves
    kept = wd / "notes.tmp"
    kept.write_text("the user's")
    again = run(c, str(wd), **QUIET)
    assert not any(p.exists() for p in planted)
    assert kept.exists()
    assert again.equals(first)
    left = [n for _, _, names in os.walk(wd) for n in names if n.startswith(files.TEMPORARY_PREFIX)]
    assert left == []


def test_config_json_records_what_the_model_really_is(tmp_path):
    """gmm_fcn has no biases and Kaiming-uniform init whatever model.use_bias / model.init say (the base config's
    True / kaiming_normal): DIR/config.json records the model as it is, beside the config as given."""
    import json
    c = tiny_config(**{"imp.levels": 0, "model.widths": (2,), "eval.fresh_samples": 0})
    assert c.model.name == "gmm_fcn" and c.model.use_bias and c.model.init == "kaiming_normal"
    run(c, str(tmp_path), **QUIET)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["models"] == {"gmm_fcn": {"hidden": ["W"], "use_bias": False, "init": "kaiming_uniform"}}
    assert saved["config"]["model"]["use_bias"] is True  # the config as given (its run id is unchanged)
