#!/usr/bin/env bash
# Live Slurm test: starts a one-node Slurm cluster on this machine (munged, slurmctld,
# slurmd; installed with apt-get when missing), submits the job array that
# `tapegrad sweep slurm` writes for a small sweep in 4 shards, waits for the dependent
# merge job, and checks that the merged records equal a local single-process run's
# (timing aside). Fails (exit 1) if the cluster cannot start. Needs root.
set -euo pipefail
cd "$(dirname "$0")/../.."
TIMEOUT=${SLURM_TEST_TIMEOUT:-240}

fail() { echo "slurm test FAILED: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root to start munged, slurmctld and slurmd"

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || fail "apt-get update"
    apt-get install -y -qq slurm-wlm munge >/dev/null || fail "apt-get install slurm-wlm munge"
fi

cargo build --release --quiet
BIN=$PWD/target/release/tapegrad

WORK=$(mktemp -d /tmp/tapegrad-slurm.XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
    local code=$?
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    if [ "$code" != 0 ]; then
        echo "--- logs in $WORK" >&2
        tail -n 20 "$WORK"/*.log "$WORK"/out/logs/* 2>/dev/null >&2 || true
    else
        rm -rf "$WORK"
    fi
    exit "$code"
}
trap cleanup EXIT

# munge: a key of our own, its own socket, pid file and logs in the work folder.
mkdir -p "$WORK/munge" "$WORK/spool" "$WORK/state"
chmod 700 "$WORK/munge"
dd if=/dev/urandom of="$WORK/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$WORK/munge/munge.key"
SOCKET=$WORK/munge/munge.socket
munged --force --key-file="$WORK/munge/munge.key" --socket="$SOCKET" \
    --pid-file="$WORK/munge/munged.pid" --log-file="$WORK/munged.log" --seed-file="$WORK/munge/seed" \
    || fail "munged did not start"
for _ in $(seq 50); do [ -s "$WORK/munge/munged.pid" ] && break; sleep 0.1; done
PIDS+=("$(cat "$WORK/munge/munged.pid")")

HOST=$(hostname -s)
CPUS=$(nproc)
cat > "$WORK/slurm.conf" <<CONF
ClusterName=tapegrad-test
SlurmctldHost=$HOST
SlurmctldPort=${SLURMCTLD_PORT:-16817}
SlurmdPort=${SLURMD_PORT:-16818}
AuthType=auth/munge
AuthInfo=socket=$SOCKET
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/slurmctld.log
SlurmdLogFile=$WORK/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
NodeName=$HOST CPUs=$CPUS State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$WORK/slurm.conf

slurmctld -i -f "$SLURM_CONF" || fail "slurmctld did not start"
for _ in $(seq 50); do [ -s "$WORK/slurmctld.pid" ] && break; sleep 0.1; done
[ -s "$WORK/slurmctld.pid" ] || fail "slurmctld wrote no pid file"
PIDS+=("$(cat "$WORK/slurmctld.pid")")
slurmd -f "$SLURM_CONF" || fail "slurmd did not start"
for _ in $(seq 50); do [ -s "$WORK/slurmd.pid" ] && break; sleep 0.1; done
[ -s "$WORK/slurmd.pid" ] || fail "slurmd wrote no pid file"
PIDS+=("$(cat "$WORK/slurmd.pid")")

up=
for _ in $(seq 60); do
    if sinfo -h -N -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then up=1; break; fi
    sleep 1
done
[ -n "$up" ] || fail "the node never became idle: $(sinfo -N 2>&1)"

cat > "$WORK/sweep.toml" <<'TOML'
kind = "signal"
[fixed]
depth = 10
width = 32
[axes]
activation = ["tanh", "relu"]
sw2 = { from = 0.5, to = 3.0, steps = 5 }
sb2 = [0.0, 0.1]
seed = [0, 1]
TOML

"$BIN" sweep slurm "$WORK/sweep.toml" --shards 4 --time 0:10:00 --cpus 1 --out "$WORK/out"
read -r JOB MERGE < <(bash "$WORK/out/submit.sh") || fail "submitting the jobs"
echo "array job $JOB, merge job $MERGE"

start=$(date +%s)
while squeue -h -j "$JOB,$MERGE" 2>/dev/null | grep -q .; do
    [ $(( $(date +%s) - start )) -lt "$TIMEOUT" ] || fail "jobs still queued after ${TIMEOUT}s: $(squeue 2>&1)"
    sleep 1
done
[ -s "$WORK/out/merged/results.jsonl" ] || fail "no merged results (merge job $MERGE did not run or failed)"

"$BIN" sweep run "$WORK/sweep.toml" --out "$WORK/local" --json >/dev/null
# Bit for bit: every record's text, its timing cut out, in id order.
strip() { sed -E 's/"seconds":[^,]*,//' "$1" | sort; }
if ! cmp -s <(strip "$WORK/out/merged/results.jsonl") <(strip "$WORK/local/results.jsonl"); then
    fail "merged Slurm results differ from the local run"
fi
echo "slurm test passed: $(wc -l < "$WORK/out/merged/results.jsonl") records from 4 array tasks equal the local run"
