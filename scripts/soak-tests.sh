#!/usr/bin/env bash
# The whole suite RUNS times in a row (default 10) while every core is kept busy, to catch tests that pass only
# on an idle machine. Prints each run's last pytest line, then "soak: N of M passed"; exits 1 if any run failed.
# The output of failing runs is kept in a log file whose path is printed.
#   RUNS   runs (default 10)
#   LOAD   busy loops in the background (default: one per core; 0 for none)
#   BIN    the virtualenv's bin folder (default .venv/bin)
#   STREAMS  suites run side by side (default 1): with 2, the runs are shared between two streams that load each
#          other (and the busy loops between them), so ten runs take about half as long on a 2-core machine
set -uo pipefail
# Job control: children keep SIGINT (a non-interactive shell would have them ignore it), so stop() can interrupt
# pytest the way Ctrl-C does.
set -m
cd "$(dirname "$0")/.."

runs=${RUNS:-10}
loops=${LOAD:-$(nproc)}
bin=${BIN:-.venv/bin}
streams=${STREAMS:-1}

if [[ $streams =~ ^[2-9]$ ]]; then
    # Each stream is this script with its share of the runs and the loops; the soak passes if every stream does.
    echo "soak: $runs run(s) in $streams streams side by side, $loops busy loop(s) among them"
    pids=()
    for stream in $(seq "$streams"); do
        share=$(((runs + streams - stream) / streams))
        load=$(((loops + streams - stream) / streams))
        STREAMS=1 RUNS=$share LOAD=$load BIN=$bin "$0" 2>&1 | sed -u "s/^/[stream $stream] /" &
        pids+=("$!")
    done
    failed=0
    for pid in "${pids[@]}"; do
        wait "$pid" || failed=1
    done
    echo "soak: $( ((failed)) && echo "a stream failed" || echo "all $runs runs passed")"
    exit "$failed"
fi
# A generous bound on the whole soak: the loops stop by themselves even if this script is killed with SIGKILL.
bound=$((runs * 600 + 60))

if ! [[ $runs =~ ^[1-9][0-9]*$ && $loops =~ ^[0-9]+$ ]]; then
    echo "soak: RUNS must be a positive number and LOAD a number" >&2
    exit 2
fi

log=$(mktemp "${TMPDIR:-/tmp}/tween-soak.XXXXXX")
out=$(mktemp "${TMPDIR:-/tmp}/tween-soak-run.XXXXXX")
loads=()
suite=""

stop() {
    # Only what this script started, by process id. pytest gets an INT, as from Ctrl-C, so its fixtures are torn
    # down (the e2e bot subprocesses with them); a KILL follows if it has not gone within 30 s.
    if [[ -n $suite ]]; then
        kill -INT "$suite" 2>/dev/null
        (sleep 30 && kill -KILL "$suite" 2>/dev/null) &
        local watchdog=$!
        wait "$suite" 2>/dev/null
        kill "$watchdog" 2>/dev/null
    fi
    ((${#loads[@]})) && kill "${loads[@]}" 2>/dev/null
    wait 2>/dev/null
    rm -f "$out"
    [[ -s $log ]] || rm -f "$log"
}
trap stop EXIT
trap 'echo "soak: interrupted" >&2; exit 130' INT
trap 'echo "soak: terminated" >&2; exit 143' TERM

for _ in $(seq "$loops"); do
    timeout "$bound" sh -c 'while :; do :; done' &
    loads+=("$!")
done
echo "soak: $runs run(s) of the whole suite with $loops busy loop(s) in the background"

passed=0
for run in $(seq "$runs"); do
    started=$SECONDS
    # In the background and waited for, so an INT or TERM is handled at once rather than after the run.
    "$bin/python" -m pytest -q >"$out" 2>&1 &
    suite=$!
    wait "$suite"
    code=$?
    suite=""
    last=$(grep -v '^[[:space:]]*$' "$out" | tail -n 1)
    echo "run $run/$runs: $last ($((SECONDS - started)) s)"
    if ((code == 0)); then
        passed=$((passed + 1))
    else
        {
            echo "===== run $run/$runs: pytest exited $code ====="
            cat "$out"
        } >>"$log"
    fi
done

echo "soak: $passed of $runs passed"
if ((passed < runs)); then
    echo "soak: the failing runs' output is in $log"
    exit 1
fi
