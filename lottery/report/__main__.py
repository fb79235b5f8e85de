"""``python -m lottery.report --workdir=DIR [--workdir=DIR2 …] [--out=DIR]``: figures and report.md
from finished runs (their results tables only; nothing is trained)."""
from __future__ import annotations

import os

from absl import app, flags

from lottery import cli

_WORKDIRS = flags.DEFINE_multi_string("workdir", None, "Finished run directories (repeat the flag for several).")
_OUT = flags.DEFINE_string("out", None, "Where to write the report (default: WORKDIR/report of the first workdir).")


def main(argv) -> None:
    """Writes the report of the ``--workdir`` runs (one line and exit 2 for bad input)."""
    cli.no_arguments(argv)
    workdirs = _WORKDIRS.value or []
    if not workdirs:
        cli.fail("workdir: is required (--workdir=DIR, repeatable)")
    for wd in workdirs:
        if not (os.path.exists(os.path.join(wd, "config.json")) and os.path.isdir(os.path.join(wd, "parts"))):
            cli.fail(f"workdir: {wd} holds no finished run (no config.json and parts/)")
    from lottery import studies
    from lottery.report import study

    out = _OUT.value or os.path.join(workdirs[0], "report")
    for path in study.build(workdirs, out, lambda config: studies.of_saved(config).report_section):
        print(f"wrote {path}")


if __name__ == "__main__":
    app.run(main)
