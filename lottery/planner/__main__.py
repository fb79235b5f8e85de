"""Command line of the planner (:mod:`lottery.planner`): what a run will cost, without training it::

    python -m lottery.planner --config=experiments/X.py[:preset] [--device=cpu|gpu|tpu] [--memory=80GiB] \\
        [--flops=PEAK] [--efficiency=F] [--nomemory_analysis]

Prints one line per bucket (members, widths, strategy, weights, FLOPs, memory of the compiled chunk program,
whether it fits, estimated time) and the totals. Bad input prints one line and exits with status 2
(:mod:`lottery.cli`). From Python: ``lottery.plan(config, …)`` (:func:`lottery.planner.plan`).
"""
from __future__ import annotations

from absl import app, flags

from lottery import cli, planner
from lottery.core.errors import ConfigError

cli.config_flag()  # --config=experiments/NAME.py[:preset] and its --config.x.y=… overrides, as for lottery.main
_DEVICE = flags.DEFINE_string("device", "", "cpu | gpu | tpu: the backend the run is planned for (default: this one).")
_MEMORY = flags.DEFINE_string("memory", "", "Device memory budget: 80GiB, 16GB, 512MiB or bytes (default: none).")
_FLOPS = flags.DEFINE_string("flops", "", "Peak FLOP/s of the device, e.g. 989T (default: a short sgemm here).")
_EFFICIENCY = flags.DEFINE_float("efficiency", None, "Fraction of the peak assumed (default: measured fractions "
                                                     "of docs/performance.md).")
_ANALYSE = flags.DEFINE_bool("memory_analysis", True, "Compile each bucket's chunk program for XLA's memory "
                                                      "analysis (--nomemory_analysis: skip, no memory columns).")


def main(argv):
    cli.no_arguments(argv)
    config = cli.config()
    if _DEVICE.value and _DEVICE.value not in planner.DEVICES:
        cli.fail(f"device: must be one of {', '.join(planner.DEVICES)}, got {_DEVICE.value!r}")
    try:
        memory = planner.parse_bytes(_MEMORY.value) if _MEMORY.value else None
        peak = planner.parse_flops(_FLOPS.value) if _FLOPS.value else None
    except ValueError as e:
        cli.fail(str(e))
    if _EFFICIENCY.value is not None and not 0 < _EFFICIENCY.value <= 1:
        cli.fail(f"efficiency: must be in (0, 1], got {_EFFICIENCY.value}")
    try:
        df = planner.plan(config, device=_DEVICE.value or None, memory=memory, peak=peak,
                          efficiency=_EFFICIENCY.value, analyse_memory=_ANALYSE.value)
    except ConfigError as e:
        cli.fail(str(e))
    print(planner.format_plan(df), flush=True)


if __name__ == "__main__":
    app.run(main, flags_parser=cli.parse)
