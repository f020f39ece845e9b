#!/usr/bin/env bash
# bench:peers — runs ../shared/tools/peerbench with tsink-server (built dist/) beside Debian's prometheus and
# victoria-metrics in one invocation, at 10k x 240 and 100k x 60. Extra arguments go to every peerbench run
# (e.g. `npm run bench:peers -- --target vm` or `-- --series 1000 --points 60` for a quick check).
# `npm run bench:peers -- --ingest influx` measures line-protocol ingest beside VictoriaMetrics and InfluxDB 1.x
# (apt-get install influxdb) with 4000-line requests for every target (tsink's default limit is 4096 lines).
set -euo pipefail
if printf '%s\n' "$@" | grep -qx -- '--help\|-h'; then
  cat <<'EOF'
Usage: npm run bench:peers [-- PEERBENCH_FLAGS...]    (or: bash bench/peers.sh [PEERBENCH_FLAGS...])
Runs ../shared/tools/peerbench with tsink-server (dist/, built if missing) beside Debian's prometheus and
victoria-metrics, at 10k x 240 and 100k x 60 (one run at the given size when --series is among the flags).
Every flag is passed to each peerbench run (its own list: node ../shared/tools/peerbench/bench.mjs --help), e.g.
  --target vm                 compare with VictoriaMetrics only
  --series 1000 --points 60   one quick run at that size
  --ingest influx             Influx line protocol beside VictoriaMetrics and InfluxDB 1.x (4000-line requests)
Environment:
  TSINK_BENCH_PORT            tsink-server's port (default 19201); the peers use peerbench's fixed ports
EOF
  exit 0
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
peerbench="$root/../shared/tools/peerbench"
[ -d "$peerbench/node_modules" ] || (cd "$peerbench" && npm install --no-audit --no-fund)
[ -f "$root/build/tsink.wasm" ] && [ -f "$root/dist/server/main.js" ] || (cd "$root" && npm run build)
port="${TSINK_BENCH_PORT:-19201}"
# the same runtime settings as the tsink-server shebang and `npm start` (memory: docs/benchmarks.md)
cmd="env MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=262144 node --max-semi-space-size=4 --min-semi-space-size=4 $root/dist/server/main.js --listen 127.0.0.1:{port} --data-path {dataDir}"
targets="prometheus,vm"
if printf '%s\n' "$@" | grep -qx -- 'influx\|--ingest=influx'; then
  targets="vm"; command -v influxd > /dev/null && targets="vm,influxdb"
  printf '%s\n' "$@" | grep -q -- '--batch' || set -- "$@" --batch 4000
fi
run() {
  node "$peerbench/bench.mjs" --target "$targets" --url "http://127.0.0.1:$port" --name tsink \
    --cmd "$cmd" --ready-path /ready "$@"
}
if [ "$#" -gt 0 ] && printf '%s\n' "$@" | grep -q -- '--series'; then
  run "$@"
else
  run --series 10000 --points 240 "$@"
  run --series 100000 --points 60 "$@"
fi
