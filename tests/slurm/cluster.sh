#!/usr/bin/env bash
# A one-node Slurm cluster for a test, all of it in one directory:
#   cluster.sh up DIR     munged, slurmctld and slurmd with a configuration in
#                         DIR, on ports of their own; prints the SLURM_CONF
#                         to use and waits until the node takes jobs
#   cluster.sh down DIR   stops what `up` started, by the pids it recorded
# Needs root (slurmd runs jobs as their user) and Debian's slurm-wlm and
# munge (scripts/deps.sh cluster). Touches nothing outside DIR.
set -euo pipefail
cmd=$1
dir=$(realpath "$2")
ctld_port=${IOBENCH_SLURMCTLD_PORT:-26817}
slurmd_port=${IOBENCH_SLURMD_PORT:-26818}

stop_pid() { # name pidfile
  [ -f "$2" ] || return 0
  local pid
  pid=$(cat "$2")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
  fi
  rm -f "$2"
}

if [ "$cmd" = down ]; then
  stop_pid slurmd "$dir/slurmd.pid"
  stop_pid slurmctld "$dir/slurmctld.pid"
  stop_pid munged "$dir/munged.pid"
  exit 0
fi
[ "$cmd" = up ] || { echo "usage: cluster.sh up|down DIR" >&2; exit 2; }

node=$(hostname -s)
mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
chmod 700 "$dir/munge"
dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chmod 600 "$dir/munge/munge.key"
cpus=$(nproc --all)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
cat > "$dir/slurm.conf" <<CONF
ClusterName=iobenchtest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=iobench Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
echo "# the test cluster uses no cgroup plugin (proctrack/linuxproc, task/none)" > "$dir/cgroup.conf"

munged --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
  --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" --seed-file="$dir/munge/seed" \
  --force
export SLURM_CONF=$dir/slurm.conf
slurmctld -i
slurmd -N "$node"
for _ in $(seq 100); do
  state=$(sinfo -h -n "$node" -o %t 2>/dev/null || true)
  case $state in idle*) echo "$SLURM_CONF"; exit 0 ;; esac
  sleep 0.2
done
echo "cluster.sh: the node never became idle (state '$state'); see $dir/*.log" >&2
exit 1
