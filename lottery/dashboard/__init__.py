"""The robustness study's visual analytics dashboard: python -m lottery.dashboard --workdir=DIR (see ARCHITECTURE.md)."""
