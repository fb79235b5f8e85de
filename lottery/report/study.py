"""``report.md`` of several finished runs, each through its study's section (``Study.report_section``), from their
tables only; and the figures across runs."""
from __future__ import annotations

import os


from lottery.report import imp_section
from lottery.store import files, result_tables
from lottery.store import workdir as workdir_files


def run_info(workdir: str) -> dict:
    """Experiment, dataset, ν and run id of a workdir, read from its config.json."""
    saved = workdir_files.read_config(workdir)
    c = saved["config"]
    return {"workdir": workdir, "run_id": saved["run_id"], "experiment": c["experiment"], "dataset": c["data"]["name"],
            "nu": c["data"].get("nu"), "noise": c["data"]["noise"]["fraction"]}


def build(workdirs: list[str], out: str, section_of) -> list[str]:
    """Writes the figures and ``report.md`` into ``out``; returns the paths written.

    section_of(saved config dict) → section(workdir, info, config, df, save) → markdown lines: the report section of
    the run's study (``Study.report_section``)."""
    os.makedirs(out, exist_ok=True)
    written, lines, per_run = [], ["# Report", ""], []

    def save(name, draw):
        path = os.path.join(out, name)
        with files.atomic_path(path) as tmp:
            draw(tmp)
        written.append(path)
        return name

    for wd in workdirs:
        info, config = run_info(wd), workdir_files.read_config(wd)["config"]
        lines += section_of(config)(wd, info, config, result_tables.load(wd), save)
        if "overparameterized" in info:
            per_run.append((info, info.pop("overparameterized")))
    if any(info["dataset"].startswith("gmm") for info, _ in per_run):
        name = save("effective_params_vs_nu.png", lambda p: imp_section.plot_effective_vs_nu(per_run, p))
        lines += ["## Effective parameters against ν", "",
                  "Best pruned models of over-parameterized starting models (dense train error 0 on noisy labels).", "",
                  f"![]({name})", ""]
    path = os.path.join(out, "report.md")
    files.write_text(path, "\n".join(lines))
    written.append(path)
    return written
