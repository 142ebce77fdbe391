#!/usr/bin/env bash
# Integration test of slurm/*.sbatch on a private single-node SLURM (launch/slurm-local.sh):
#   1. slurm/train.sbatch with 2 tasks trains on a synthetic dataset (one MPI job of 2 ranks);
#   2. slurm/sweep.sbatch as a 2-task job array writes one run directory per seed, and
#      `supsnn sweep gather` makes the accuracy bands of the two;
#   3. preemption: SIGUSR1 to a running train job (1000 short epochs) -> the ranks checkpoint
#      and stop, the job requeues itself, and the requeued job resumes from the checkpoint and
#      finishes.
# Usage: slurm_integration.sh PATH/TO/supsnn   (needs root, like slurmd; run by ctest)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=$(realpath "${1:?usage: $0 PATH/TO/supsnn}")
# slurmd must run as root; a non-root user with password-less sudo starts it through sudo.
AS_ROOT=()
if [[ $(id -u) -ne 0 ]]; then
  sudo -n true 2>/dev/null || { echo "FAIL: the private SLURM needs root or password-less sudo (slurmd runs as root)"; exit 1; }
  AS_ROOT=(sudo -n --preserve-env=SLURM_LOCAL_DIR,SLURM_LOCAL_PORT)
fi

W=$(mktemp -d /tmp/supsnn-slurm-test.XXXXXX)
export SLURM_LOCAL_DIR=$W/slurm
# A port of our own, so a developer's private SLURM on 6817 is left alone.
export SLURM_LOCAL_PORT=${SLURM_LOCAL_PORT:-$((20000 + $$ % 20000))}
export SLURM_CONF=$SLURM_LOCAL_DIR/slurm.conf
cleanup() {
  "${AS_ROOT[@]}" bash "$REPO/launch/slurm-local.sh" stop >/dev/null 2>&1 || true
  [[ "${KEEP:-0}" == 1 ]] || "${AS_ROOT[@]}" rm -rf "$W"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$W"/*.out; do [[ -f $f ]] && { echo "== $f"; tail -n 30 "$f"; }; done; exit 1; }
ok() { echo "ok: $*"; }

"${AS_ROOT[@]}" bash "$REPO/launch/slurm-local.sh" start
"$BIN" synth --output "$W/synth.h5" --train-per-class 40 --test-per-class 10 --size 32 >/dev/null

# Job state from scontrol (there is no accounting database in this cluster).
job_field() { scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }
wait_done() {  # job id, timeout s: until the job (and all its array tasks) left the queue
  # Only an answer counts: on a loaded machine squeue can fail (controller busy), and an empty
  # output from a failed call is not an empty queue.
  local t=0 out
  until out=$(squeue -h -j "$1" 2>/dev/null) && [[ -z $out ]]; do
    sleep 1; t=$((t + 1)); [[ $t -lt $2 ]] || fail "job $1 still queued after $2 s"
  done
}
wait_final() {  # job id, timeout s: until scontrol reports a final state (not PENDING/RUNNING/...)
  local t=0
  until [[ "$(job_field "$1" JobState)" =~ ^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY)$ ]]; do
    sleep 1; t=$((t + 1)); [[ $t -lt $2 ]] || fail "job $1 not finished after $2 s: $(job_field "$1" JobState)"
  done
}
# Ranks yield the core while they wait in MPI: ctest runs other tests beside this one on 2 cores.
common=(--chdir="$REPO" --export=ALL,SUPSNN="$BIN",CONFIG=configs/default.toml,OMPI_MCA_mpi_yield_when_idle=1)
train_args=(--set data.train="$W/synth.h5" --set train.batch_size=4 --set run.log_level=info)

# 1. Two ranks, one MPI job.
id=$(sbatch --parsable "${common[@]}",RUN_DIR="$W/train" --output="$W/train-%j.out" \
  --ntasks-per-node=2 slurm/train.sbatch "${train_args[@]}" --set train.epochs=2)
wait_done "$id" 300
[[ "$(job_field "$id" JobState)" == COMPLETED ]] || fail "train job $id: $(job_field "$id" JobState)"
grep -q "2 ranks x local batch 2 = global batch 4" "$W"/train-"$id".out || fail "train job did not run 2 ranks as one MPI job"
[[ $(tail -n +2 "$W/train/metrics.csv" | wc -l) -eq 2 ]] || fail "train job: metrics.csv lacks 2 epochs"
[[ -f "$W/train/model.h5" ]] && compgen -G "$W/train/ckpt/step-*.h5" >/dev/null || fail "train job: no model.h5 or final checkpoint"
ok "train.sbatch: 2 ranks, 2 epochs, model and checkpoint written"

# 2. A job array of 2 repetitions (seeds 1 and 2), each in its own run directory.
id=$(sbatch --parsable "${common[@]}",SWEEP_DIR="$W/sweep" --output="$W/sweep-%A_%a.out" \
  --array=1-2 slurm/sweep.sbatch "${train_args[@]}" --set train.epochs=1)
wait_done "$id" 300
for s in 1 2; do
  [[ -f "$W/sweep/seed-$s/model.h5" ]] || fail "sweep task $s wrote no model"
  grep -q "seed = $s" "$W/sweep/seed-$s/config.toml" || fail "sweep task $s did not train seed $s"
done
cmp -s "$W/sweep/seed-1/metrics.csv" "$W/sweep/seed-2/metrics.csv" && fail "sweep: both seeds gave the same metrics"
"$BIN" sweep gather "$W/sweep" --repeats 2 >"$W/gather.out" 2>&1 || { cat "$W/gather.out"; fail "sweep gather failed"; }
[[ $(grep -c '^test_accuracy,' "$W/sweep/bands.csv") -eq 1 ]] || fail "sweep gather: bands.csv lacks the test accuracy of 1 epoch"
grep -q '^final_test_accuracy,1,2,' "$W/sweep/bands.csv" || fail "sweep gather: final accuracy not over 2 runs"
ok "sweep.sbatch: 2 array tasks, seeds 1 and 2, own run directories; sweep gather: bands over 2 runs"

# 3. Preemption: signal the batch script as SLURM does before a time limit (--signal=B:USR1).
# The job must still be training when the signal lands: 64 x 64 chips and many epochs give it
# several seconds of work after its first epoch (it trains at ~10^4 samples/s). The global batch
# of 40 keeps the all-reduces few (3 per epoch): with batch 2 the 40,000 all-reduces of 1000
# epochs took minutes when another process shared the 2 cores (ranks spin while they wait).
"$BIN" synth --output "$W/synth64.h5" --train-per-class 40 --test-per-class 10 --size 64 >/dev/null
epochs=1000
id=$(sbatch --parsable "${common[@]}",RUN_DIR="$W/pre" --output="$W/pre-%j.out" \
  --ntasks-per-node=2 slurm/train.sbatch --set data.train="$W/synth64.h5" --set train.batch_size=40 \
  --set run.log_level=info --set train.epochs=$epochs --set checkpoint.every_epochs=0 \
  --set run.tensorboard=false)
t=0
until [[ -f "$W/pre/metrics.csv" ]]; do sleep 0.2; t=$((t + 1)); [[ $t -lt 600 ]] || fail "preempt job never finished an epoch"; done
scancel --batch --signal=USR1 "$id"
# SLURM holds a requeued batch job back for a while (its begin time moves ahead); a real cluster
# just waits, the test lets it start at once once it is pending again.
t=0
until [[ "$(job_field "$id" Restarts)" == 1 && "$(job_field "$id" JobState)" == PENDING ]]; do
  sleep 0.5; t=$((t + 1)); [[ $t -lt 600 ]] || fail "job $id was not requeued"
done
scontrol update JobId="$id" StartTime=now
wait_final "$id" 300
out="$W/pre-$id.out"
grep -q "stop signal received" "$out" || fail "the ranks did not see the signal"
grep -q "requeueing job $id" "$out" || fail "the job did not requeue itself"
grep -q "resumed from $W/pre/ckpt/step-" "$out" || fail "the requeued job did not resume from the checkpoint"
[[ "$(job_field "$id" JobState)" == COMPLETED ]] || fail "requeued job: $(job_field "$id" JobState)"
[[ "$(job_field "$id" Restarts)" == 1 ]] || fail "requeued job: Restarts=$(job_field "$id" Restarts)"
[[ $(tail -n +2 "$W/pre/metrics.csv" | wc -l) -eq $epochs ]] || fail "preempted run: metrics.csv lacks $epochs epochs"
[[ -f "$W/pre/model.h5" ]] || fail "preempted run: no model.h5"
ok "preemption: checkpoint on SIGUSR1, requeue, resume, $epochs epochs finished"
