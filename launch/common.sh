# Shared by launch/local.sh and launch/tpu_vm.sh (sourced). slurm.sbatch keeps its own copy: SLURM runs
# a batch script from a spool directory, away from this file.

# usage STATUS: prints the calling script's header comment (from line 2 to the first non-comment) and exits.
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit "$1"; }

# quote WORD…: the words as a shell would need them typed (plain words as they are, others single-quoted).
quote() {
  local out=() a
  for a in "$@"; do
    if [[ $a =~ ^[A-Za-z0-9_./:=,+@%^-]+$ ]]; then out+=("$a"); else out+=("'${a//\'/\'\\\'\'}'"); fi
  done
  echo "${out[*]}"
}
