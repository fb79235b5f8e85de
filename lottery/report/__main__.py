"""``python -m lottery.report --workdir=DIR [--workdir=DIR2 …] [--out=DIR]``: figures and report.md
from finished runs (their results tables only; nothing is trained)."""
from __future__ import annotations

import os
import sys

from absl import app, flags

_WORKDIRS = flags.DEFINE_multi_string("workdir", None, "Finished run directories (repeat the flag for several).")
_OUT = flags.DEFINE_string("out", None, "Where to write the report (default: WORKDIR/report of the first workdir).")


def main(argv) -> None:
    if len(argv) > 1:
        print(f"error: unexpected arguments {argv[1:]}", file=sys.stderr)
        sys.exit(2)
    workdirs = _WORKDIRS.value or []
    if not workdirs:
        print("error: workdir: is required (--workdir=DIR, repeatable)", file=sys.stderr)
        sys.exit(2)
    for wd in workdirs:
        if not (os.path.exists(os.path.join(wd, "config.json")) and os.path.isdir(os.path.join(wd, "parts"))):
            print(f"error: workdir: {wd} holds no finished run (no config.json and parts/)", file=sys.stderr)
            sys.exit(2)
    from lottery.report import study
    from lottery.studies import STUDIES

    out = _OUT.value or os.path.join(workdirs[0], "report")
    for path in study.build(workdirs, out, {kind: s.report_section for kind, s in STUDIES.items()}):
        print(f"wrote {path}")


if __name__ == "__main__":
    app.run(main)
