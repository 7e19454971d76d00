#!/usr/bin/env bash
# Start (or stop) a private userspace PulseAudio for manual audio checks, like tests/audio/pulse.py.
#
#   eval "$(scripts/pulse-env.sh)"        # start; exports PULSE_SERVER for this shell
#   paplay --device=mic speech.wav         # the "microphone" (default source mic.monitor) hears it
#   parec --device=spk.monitor > out.raw   # what the program played (default sink spk)
#   scripts/pulse-env.sh stop              # stop it and remove its directory
#
# Works as root: --system=false only warns, -n skips /etc/pulse/default.pa, and the socket allows
# anonymous clients so no cookie is needed. Needs: pulseaudio pulseaudio-utils libasound2-plugins.
# Keep the module list in step with _SCRIPT in tests/audio/pulse.py.
set -euo pipefail

DIR="${CONVAI_PULSE_DIR:-/tmp/convai-pulse-$(id -u)}"
SOCKET="$DIR/native"
PIDFILE="$DIR/daemon.pid"

stop() {
    if [[ -f "$PIDFILE" ]]; then
        pid="$(cat "$PIDFILE")"
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid"
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        fi
    fi
    rm -rf "$DIR"
    echo "unset PULSE_SERVER"
}

start() {
    for tool in pulseaudio pactl paplay parec; do
        command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y pulseaudio pulseaudio-utils" >&2; exit 1; }
    done
    if [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
        echo "export PULSE_SERVER=unix:$SOCKET"
        return
    fi
    rm -rf "$DIR"
    mkdir -p "$DIR"
    chmod 700 "$DIR"
    cat > "$DIR/default.pa" <<PA
load-module module-native-protocol-unix socket=$SOCKET auth-anonymous=1
load-module module-null-sink sink_name=mic rate=48000 channels=1 sink_properties=device.description=test-mic
load-module module-null-sink sink_name=spk rate=48000 channels=1 sink_properties=device.description=test-speaker
load-module module-always-sink
load-module module-null-sink sink_name=drain rate=48000 channels=1 sink_properties=device.description=test-drain
load-module module-null-source source_name=quiet rate=48000 channels=1
load-module module-loopback source=quiet sink=mic latency_msec=10 source_dont_move=true sink_dont_move=true
load-module module-loopback source=spk.monitor sink=drain latency_msec=10 source_dont_move=true sink_dont_move=true
set-default-source mic.monitor
set-default-sink spk
PA
    env -u PULSE_SERVER XDG_RUNTIME_DIR="$DIR" PULSE_RUNTIME_PATH="$DIR" HOME="$DIR" XDG_CONFIG_HOME="$DIR" \
        setsid pulseaudio --daemonize=no --system=false --exit-idle-time=-1 \
        --realtime=false --high-priority=false -n -F "$DIR/default.pa" --log-target=stderr \
        </dev/null >"$DIR/pulseaudio.log" 2>&1 &
    echo $! > "$PIDFILE"
    for _ in $(seq 100); do
        if PULSE_SERVER="unix:$SOCKET" pactl info >/dev/null 2>&1; then
            echo "export PULSE_SERVER=unix:$SOCKET"
            echo "# pulseaudio pid $(cat "$PIDFILE"), log $DIR/pulseaudio.log; stop with: scripts/pulse-env.sh stop" 
            return
        fi
        sleep 0.1
    done
    echo "pulseaudio did not start; log:" >&2
    tail -20 "$DIR/pulseaudio.log" >&2
    stop >/dev/null
    exit 1
}

case "${1:-start}" in
    start) start ;;
    stop) stop ;;
    status) PULSE_SERVER="unix:$SOCKET" pactl info ;;
    *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac
