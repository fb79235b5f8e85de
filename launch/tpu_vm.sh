#!/usr/bin/env bash
# Creates (or reuses) a Cloud TPU VM or pod slice with gcloud and runs COMMAND on every worker
# (--worker=all), in ~/lottery if it exists, with LOTTERY_WORKER (this worker's index) and LOTTERY_WORKERS (their
# number) exported from the VM's metadata. For a sweep every worker is one job draining the manifest;
# for one multi-host run jax.distributed finds the slice's workers by itself.
#
#   launch/tpu_vm.sh --name=NAME --zone=ZONE [--project=P] [--type=v4-8] [--version=tpu-ubuntu2204-base]
#       [--spot] [--setup] [--detach] [--dry-run] -- COMMAND [ARGS…]
#   launch/tpu_vm.sh --name=lt --zone=us-central2-b --type=v4-8 --setup -- python -m lottery.sweeps \
#       --config=experiments/gmm_linear.py --grid=data.noise.fraction=0.0,0.1,0.2 --workdir=/mnt/shared/noise
#
# --type/--version/--spot are used only when NAME does not exist yet. --setup copies this checkout's
# tracked files (as they are in the working tree) to ~/lottery on every worker and installs it with
# jax[tpu] into a Python 3.11 virtualenv ~/lottery-venv (made with uv), which COMMAND then runs in. --detach runs COMMAND under nohup (output in ~/lottery.log on each worker) so that
# it outlives the ssh session. A single COMMAND argument is sent as written (a remote shell line
# that may use $LOTTERY_WORKER); several are quoted word by word. --dry-run (or DRY_RUN=1) prints
# the gcloud commands and runs nothing.
set -euo pipefail

# shellcheck source=launch/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"  # usage, quote

name="" zone="" project="" type=v4-8 version=tpu-ubuntu2204-base spot=0 setup=0 detach=0
dry_run=${DRY_RUN:-0}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --name=*) name=${1#*=} ;;
    --zone=*) zone=${1#*=} ;;
    --project=*) project=${1#*=} ;;
    --type=*) type=${1#*=} ;;
    --version=*) version=${1#*=} ;;
    --spot) spot=1 ;;
    --setup) setup=1 ;;
    --detach) detach=1 ;;
    --dry-run) dry_run=1 ;;
    -h|--help) usage 0 ;;
    --) shift; break ;;
    *) echo "error: unknown option $1 (the command goes after --)" >&2; exit 2 ;;
  esac
  shift
done
[[ -n $name ]] || { echo "error: --name=NAME is required (the TPU VM to create or use)" >&2; exit 2; }
[[ -n $zone ]] || { echo "error: --zone=ZONE is required (e.g. us-central2-b)" >&2; exit 2; }
[[ $# -gt 0 || $setup == 1 ]] || { echo "error: no command after -- (and no --setup)" >&2; exit 2; }

where=(--zone="$zone")
[[ -z $project ]] || where+=(--project="$project")
tpu=(gcloud compute tpus tpu-vm)
create=("${tpu[@]}" create "$name" "${where[@]}" --accelerator-type="$type" --version="$version")
[[ $spot == 0 ]] || create+=(--spot)
archive=/tmp/lottery-src-$$.tgz
# The TPU images ship Python 3.10; the package needs ≥ 3.11: uv makes a 3.11 virtualenv in ~/lottery-venv.
remote_setup='mkdir -p ~/lottery && tar -xzf ~/lottery-src.tgz -C ~/lottery'\
' && python3 -m pip install -q -U uv && python3 -m uv venv -q --allow-existing --python 3.11 ~/lottery-venv'\
' && python3 -m uv pip install -q --python ~/lottery-venv/bin/python "jax[tpu]" -e ~/lottery'
# shellcheck disable=SC2016  # expanded on the worker, not here
prelude='md=http://metadata.google.internal/computeMetadata/v1/instance/attributes; '\
'export LOTTERY_WORKER=$(curl -sf -H Metadata-Flavor:Google $md/agent-worker-number); '\
'export LOTTERY_WORKERS=$(curl -sf -H Metadata-Flavor:Google $md/worker-network-endpoints | tr , "\n" | wc -l); '\
'export LOTTERY_JOB=$LOTTERY_WORKER; if [ -f ~/lottery-venv/bin/activate ]; then . ~/lottery-venv/bin/activate; fi; '\
'if [ -d ~/lottery ]; then cd ~/lottery; fi; '
if [[ $# -eq 1 ]]; then line=$1; else line=$(quote "$@"); fi
if [[ $detach == 1 ]]; then
  remote="${prelude}nohup bash -c $(quote "$line") > ~/lottery.log 2>&1 < /dev/null &"
else
  remote="$prelude$line"
fi

run() {  # --dry-run: prints the command; otherwise prints it to stderr and runs it
  if [[ $dry_run == 1 ]]; then quote "$@"; else echo "+ $(quote "$@")" >&2; "$@"; fi
}

if [[ $dry_run == 1 ]]; then
  echo "$(quote "${tpu[@]}" describe "$name" "${where[@]}") > /dev/null 2>&1 || $(quote "${create[@]}")"
elif ! "${tpu[@]}" describe "$name" "${where[@]}" > /dev/null 2>&1; then
  run "${create[@]}"
fi
if [[ $setup == 1 ]]; then
  if [[ $dry_run == 1 ]]; then
    echo "git ls-files -z | tar --null -czf $archive -T -"
  else
    git ls-files -z | tar --null -czf "$archive" -T -
  fi
  run "${tpu[@]}" scp "$archive" "$name:lottery-src.tgz" "${where[@]}" --worker=all
  run "${tpu[@]}" ssh "$name" "${where[@]}" --worker=all --command="$remote_setup"
  [[ $dry_run == 1 ]] || rm -f "$archive"
fi
[[ $# -eq 0 ]] || run "${tpu[@]}" ssh "$name" "${where[@]}" --worker=all --command="$remote"
