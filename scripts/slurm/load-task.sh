#!/usr/bin/env bash
# iobench run --load-via "scripts/slurm/load-task.sh {task}" COMMAND...:
# runs one load task (an ioload command line) as a job step on one of the
# job's nodes beyond the first, the server's; task k goes to node 1 + k mod
# (nodes - 1). The step shares the node with the job's other steps
# (--overlap) and is not bound to CPUs by Slurm: ioload's threads spread.
set -euo pipefail
task=$1
shift
nodes=${SLURM_JOB_NUM_NODES:?load-task.sh runs inside a Slurm job}
if [ "$nodes" -lt 2 ]; then
  echo "load-task.sh: the job has one node; load runs there without --load-via" >&2
  exit 2
fi
exec srun --nodes=1 --ntasks=1 --relative=$((1 + task % (nodes - 1))) --overlap \
  --cpu-bind=none --kill-on-bad-exit=1 --quiet "$@"
