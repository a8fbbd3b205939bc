# Shared by the scripts that run a real Souk outside `cargo test` (grafana/check-panels.sh,
# tests/schemathesis.sh): sourced, not run. The caller defines `die`.

stop_pid() { # pid signal: signal, wait up to 10 s, then SIGKILL
    local pid="$1" sig="$2" i
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill "-$sig" "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

# Souk leaves its private cluster running (by design, for fast restarts): stop the one it
# made under `work`, by the pid in its postmaster.pid (SIGINT = fast shutdown).
stop_private_cluster() { # work
    local pidfile="$1/.souk/pg/data/postmaster.pid"
    if [[ -f "$pidfile" ]]; then
        stop_pid "$(head -n 1 "$pidfile")" INT
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_for() { # description timeout_s pid command...: polls every 0.2 s while pid lives
    local what="$1" timeout="$2" pid="$3" deadline
    shift 3
    deadline=$((SECONDS + timeout))
    until "$@" >/dev/null 2>&1; do
        kill -0 "$pid" 2>/dev/null || die "the process $pid exited while waiting for $what"
        ((SECONDS < deadline)) || die "timed out after ${timeout}s waiting for $what"
        sleep 0.2
    done
}
