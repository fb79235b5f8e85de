#!/usr/bin/env bash
# N local processes of one command: jobs draining one sweep, or (--distributed) the processes of one
# multi-process JAX run on 127.0.0.1. Waits for all of them; exits with the first non-zero status.
#
#   launch/local.sh -n 2 -- python -m lottery.sweeps --config=experiments/gmm_linear.py:quick \
#       --grid=data.noise.fraction=0.0,0.2 --workdir=runs/sweep
#   launch/local.sh -n 2 --distributed -- python -m lottery.main --config=… --workdir=runs/x
#
# Options: -n N (processes, default 2); --logs=DIR (one log per process, default logs/local);
# --distributed [--port=P] (sets JAX_COORDINATOR_ADDRESS=127.0.0.1:P, JAX_NUM_PROCESSES=N and
# JAX_PROCESS_ID=i; default port 12355); --dry-run (or DRY_RUN=1): print the commands, run nothing.
# Every process gets LOTTERY_JOB=i (recorded in its sweep claims).
set -euo pipefail

# shellcheck source=launch/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"  # usage, quote

n=2
logs=logs/local
distributed=0
port=12355
dry_run=${DRY_RUN:-0}
while [[ $# -gt 0 ]]; do
  case "$1" in
    -n) [[ $# -ge 2 ]] || usage 2; n=$2; shift 2 ;;
    -n=*|--n=*) n=${1#*=}; shift ;;
    --logs=*) logs=${1#*=}; shift ;;
    --distributed) distributed=1; shift ;;
    --port=*) port=${1#*=}; shift ;;
    --dry-run) dry_run=1; shift ;;
    --) shift; break ;;
    -h|--help) usage 0 ;;
    *) echo "error: unknown option $1 (the command goes after --)" >&2; exit 2 ;;
  esac
done
[[ $# -gt 0 ]] || { echo "error: no command after --" >&2; exit 2; }
[[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "error: -n must be a positive integer, got $n" >&2; exit 2; }
[[ "$port" =~ ^[0-9]+$ ]] || { echo "error: --port must be a number, got $port" >&2; exit 2; }

env_of() {  # the environment of process $1
  local i=$1
  printf 'LOTTERY_JOB=%s' "$i"
  if [[ $distributed == 1 ]]; then
    printf ' JAX_COORDINATOR_ADDRESS=127.0.0.1:%s JAX_NUM_PROCESSES=%s JAX_PROCESS_ID=%s' "$port" "$n" "$i"
  fi
}

if [[ $dry_run == 1 ]]; then
  echo "mkdir -p $(quote "$logs")"
  for ((i = 0; i < n; i++)); do
    echo "env $(env_of "$i") $(quote "$@") > $(quote "$logs/job-$i.log") 2>&1 &"
  done
  echo "wait"
  exit 0
fi

mkdir -p "$logs"
pids=()
# shellcheck disable=SC2317  # called from the traps below
cleanup() {  # on Ctrl-C or TERM: stop the processes this script started
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
}
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
for ((i = 0; i < n; i++)); do
  # shellcheck disable=SC2046  # env_of prints NAME=VALUE words without spaces inside
  env $(env_of "$i") "$@" >"$logs/job-$i.log" 2>&1 &
  pids+=("$!")
  echo "process $i: pid ${pids[$i]}, log $logs/job-$i.log"
done
status=0
for i in "${!pids[@]}"; do
  if wait "${pids[$i]}"; then
    echo "process $i: done"
  else
    rc=$?
    echo "process $i: exit status $rc (see $logs/job-$i.log)"
    [[ $status != 0 ]] || status=$rc
  fi
done
exit "$status"
