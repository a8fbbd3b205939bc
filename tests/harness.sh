# Shared by the scripts that run a real Souk outside `cargo test` (grafana/check-panels.sh,
# tests/schemathesis.sh): sourced, not run. The caller defines `say` and `die`.

find_souk() { # repo profile(debug|release): sets souk_bin to $SOUK_BIN (made absolute), else builds it
    local repo="$1" profile="$2" flags=()
    if [[ -n "${SOUK_BIN:-}" ]]; then
        souk_bin="$(cd "$(dirname "$SOUK_BIN")" && pwd)/$(basename "$SOUK_BIN")"
    else
        [[ "$profile" == release ]] && flags=(--release)
        say "building Souk (cargo build ${flags[*]})"
        (cd "$repo" && cargo build "${flags[@]}") >&2 || die "cargo build ${flags[*]} failed"
        souk_bin="${CARGO_TARGET_DIR:-$repo/target}/$profile/souk"
    fi
    [[ -x "$souk_bin" ]] || die "no Souk binary at $souk_bin"
}

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
