#!/usr/bin/env bash
# A single-node Slurm (slurmctld + slurmd on localhost, a generated slurm.conf) for the real-cluster
# test of tests/cli/slurm.test.ts; needs root and Debian's slurm-wlm and munge installed.
# Usage: _slurm_local.sh start | stop   (SLURM_LOCAL_DIR: state and logs, default /tmp/slurm-local)
set -euo pipefail
dir=${SLURM_LOCAL_DIR:-/tmp/slurm-local}
case "${1:-start}" in
start)
  h=$(hostname -s); mkdir -p "$dir"/{state,spool,log} /etc/munge /run/munge
  [ -f /etc/munge/munge.key ] || dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
  chown -R munge:munge /etc/munge /run/munge; chmod 400 /etc/munge/munge.key
  [ -s /run/munge/munged.pid ] && kill -0 "$(cat /run/munge/munged.pid)" 2>/dev/null || runuser -u munge -- /usr/sbin/munged
  mem=$(( $(free -m | awk '/Mem:/{print $2}') - 1024 ))
  cat > /etc/slurm/slurm.conf <<CONF
ClusterName=local
SlurmctldHost=$h
SlurmUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldLogFile=$dir/log/ctld.log
SlurmdLogFile=$dir/log/d.log
SlurmctldPidFile=$dir/ctld.pid
SlurmdPidFile=$dir/d.pid
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
NodeName=$h CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$h Default=YES MaxTime=INFINITE State=UP
CONF
  /usr/sbin/slurmctld; sleep 2; /usr/sbin/slurmd
  for _ in $(seq 30); do sinfo -h -o %t 2>/dev/null | grep -q idle && { echo "slurm-local: up"; exit 0; }; sleep 1; done
  echo "slurm-local: node did not become idle; see $dir/log" >&2; exit 1;;
stop)
  for f in "$dir/d.pid" "$dir/ctld.pid" /run/munge/munged.pid; do [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null; done; echo "slurm-local: stopped";;
esac
