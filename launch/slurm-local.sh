#!/usr/bin/env bash
# A private single-node SLURM on this machine, for developers and tests of slurm/*.sbatch.
#   launch/slurm-local.sh start    install slurm-wlm + munge if missing, start munged, slurmctld, slurmd
#   launch/slurm-local.sh stop     cancel its jobs and stop exactly the daemons `start` started
#   launch/slurm-local.sh status   show the daemons and sinfo
# Everything (config, munge key/socket, state, spool, logs, pid files) lives under
# $SLURM_LOCAL_DIR (default /tmp/supsnn-slurm); nothing under /etc is changed, and a system
# SLURM/munge, if any, is left alone (set SLURM_LOCAL_PORT if its ports 6817/6818 are taken).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

DIR=${SLURM_LOCAL_DIR:-/tmp/supsnn-slurm}
PORT=${SLURM_LOCAL_PORT:-6817}   # slurmctld; slurmd uses PORT+1
CONF=$DIR/slurm.conf
NODE=$(hostname -s)
DAEMONS=(munged slurmctld slurmd)

die() { echo "slurm-local.sh: $*" >&2; exit 1; }
# A failed start leaves nothing behind: stop whatever this run already started, then fail.
fail() { stop_daemons; die "$@"; }
say() { echo "slurm-local.sh: $*"; }

install_if_missing() {
  local missing=() p status
  for p in slurm-wlm munge; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get; install SLURM and munge by hand"
  say "installing ${missing[*]}"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

# True when the pid recorded for daemon $1 is alive and still that program (pids get reused).
alive() {
  local pid
  [[ -f "$DIR/$1.pid" ]] || return 1
  pid=$(<"$DIR/$1.pid")
  [[ -n "$pid" && -r /proc/$pid/comm && "$(</proc/"$pid"/comm)" == "$1" ]]
}

write_conf() {
  # PMIx lets `srun --mpi=pmix` wire up Open MPI ranks without mpirun; fall back if the plugin is absent.
  local mpi=none
  if compgen -G "/usr/lib/*/slurm-wlm/mpi_pmix*.so" >/dev/null || compgen -G "/usr/lib/slurm/mpi_pmix*.so" >/dev/null; then
    mpi=pmix
  fi
  cat > "$CONF" <<CONF
# Written by launch/slurm-local.sh: a private one-node cluster, everything under $DIR.
ClusterName=supsnn-local
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$DIR/munge/munge.socket
CredType=cred/munge
# No cgroups in containers: track processes through /proc and bind nothing.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=$mpi
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.daemon.pid
SlurmdPidFile=$DIR/slurmd.daemon.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MailProg=/bin/true
ReturnToService=2
SlurmdTimeout=60
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=local Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
CONF
}

# Runs a daemon in the foreground of its own session and records its pid; `setsid` without -f
# execs in place here (a background job of a script is no group leader), so $! is the daemon.
launch() {
  local name=$1; shift
  setsid "$@" </dev/null >>"$DIR/log/$name.out" 2>&1 &
  echo $! > "$DIR/$name.pid"
  # Until the exec happens the pid still reads as setsid; wait so `alive` can recognise it.
  for _ in $(seq 50); do alive "$name" && return 0; sleep 0.1; done
  fail "$name did not start (see $DIR/log/$name.out)"
}

start() {
  [[ $(id -u) -eq 0 ]] || die "start needs root (slurmd and SlurmUser=root); run it with sudo"
  for d in "${DAEMONS[@]}"; do
    alive "$d" && die "$d already running (pid $(<"$DIR/$d.pid")); run '$0 stop' first"
  done
  install_if_missing
  mkdir -p "$DIR"/{munge,state,spool,log}
  # Clients must reach the socket (x for all), but only root may write here or read the key.
  chmod 755 "$DIR/munge"

  # A private key: jobs only need to be trusted by this machine's own daemons.
  if [[ ! -s "$DIR/munge/munge.key" ]]; then
    dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
  fi
  chmod 400 "$DIR/munge/munge.key"
  # --force: carry on past munged's strict permission checks (running as root, a tree under /tmp).
  launch munged munged --foreground --force \
    --key-file="$DIR/munge/munge.key" --socket="$DIR/munge/munge.socket" \
    --pid-file="$DIR/munge/munged.daemon.pid" --log-file="$DIR/log/munged.log" \
    --seed-file="$DIR/munge/munge.seed"
  for _ in $(seq 50); do [[ -S "$DIR/munge/munge.socket" ]] && break; sleep 0.2; done
  [[ -S "$DIR/munge/munge.socket" ]] || { cat "$DIR/log/munged.out" "$DIR/log/munged.log" >&2 2>/dev/null || true; fail "munged did not start"; }

  write_conf
  export SLURM_CONF=$CONF
  # -c: start from a clean job state every time (this cluster is disposable).
  launch slurmctld slurmctld -D -c -f "$CONF"
  launch slurmd slurmd -D -N "$NODE" -f "$CONF"

  # Ready means the node registered and can take jobs.
  local state=""
  for _ in $(seq 60); do
    for d in "${DAEMONS[@]}"; do
      alive "$d" || { tail -n 20 "$DIR/log/$d.out" "$DIR/log/$d.log" >&2 2>/dev/null || true; fail "$d exited during start-up"; }
    done
    state=$(sinfo -h -N -n "$NODE" -o %t 2>/dev/null || true)
    [[ "$state" == idle ]] && break
    sleep 1
  done
  if [[ "$state" != idle ]]; then
    tail -n 20 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 2>/dev/null || true
    fail "node $NODE is '${state:-unknown}', not idle, after 60 s (logs in $DIR/log)"
  fi
  sinfo
  say "running (pids: munged $(<"$DIR/munged.pid"), slurmctld $(<"$DIR/slurmctld.pid"), slurmd $(<"$DIR/slurmd.pid")); use it with:"
  echo "export SLURM_CONF=$CONF"
}

stop_daemons() {
  local d pid
  # Reverse order: slurmd before slurmctld, munge last (both SLURM daemons talk to it on exit).
  for d in slurmd slurmctld munged; do
    if alive "$d"; then
      pid=$(<"$DIR/$d.pid")
      kill -TERM "$pid"
      # slurmd/slurmctld save state and say goodbye over munge, which can take a few seconds.
      for _ in $(seq 300); do alive "$d" || break; sleep 0.1; done
      if alive "$d"; then say "$d (pid $pid) ignored SIGTERM; killing"; kill -KILL "$pid"; fi
      say "stopped $d (pid $pid)"
    fi
    rm -f "$DIR/$d.pid"
  done
}

stop() {
  if alive slurmctld; then
    # Cancel jobs first so slurmd's slurmstepd children end with their jobs, not orphaned.
    SLURM_CONF=$CONF scancel --quiet --user="$(id -un)" 2>/dev/null || true
    for _ in $(seq 30); do
      [[ -z "$(SLURM_CONF=$CONF squeue -h 2>/dev/null || true)" ]] && break
      sleep 1
    done
  fi
  stop_daemons
}

status() {
  local d
  for d in "${DAEMONS[@]}"; do
    if alive "$d"; then say "$d running (pid $(<"$DIR/$d.pid"))"; else say "$d not running"; fi
  done
  if alive slurmctld; then SLURM_CONF=$CONF sinfo; echo "export SLURM_CONF=$CONF"; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status   (state in \$SLURM_LOCAL_DIR, default /tmp/supsnn-slurm)" >&2; exit 2 ;;
esac
