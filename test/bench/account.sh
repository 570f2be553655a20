#!/bin/bash
# account.sh: what one alert costs each process, for BENCHMARKS.md (issue 15).
#
# For ROUNDS interleaved rounds (default 3), each of "duplicate" (20,000 alerts)
# and "unique" (10,000): the same `baton load -c 32` against the no-op HTTP
# ceiling (`baton load-ceiling`, a process of its own), then against `baton
# serve` (config.yaml, log at warn) on a fresh redis-server (AOF everysec).
# Prints, per run: alerts/s, and the CPU (user+system) per alert of the load
# tool (/usr/bin/time), the server (/proc/<pid>/stat) and redis-server, in µs,
# with the 1-minute load average. Needs redis-server, redis-cli, curl,
# /usr/bin/time; uses ports 16401 and 18191 on loopback.
#
#   bash test/bench/account.sh [ROUNDS]      (from the repository root)
#   BATON=/path/to/baton bash test/bench/account.sh   (a binary already built)
set -u
rounds=${1:-3}
cfg=${CONFIG:-config.yaml}
work=$(mktemp -d)
trap 'pkill -f "baton load-ceiling" ; pkill -f "serve --config $cfg" ; redis-cli -p 16401 shutdown nosave >/dev/null 2>&1; rm -rf "$work"' EXIT
B=${BATON:-}
if [ -z "$B" ]; then B=$work/baton; go build -o "$B" . || exit 1; fi
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }       # utime+stime, 1/100 s
hz=$(getconf CLK_TCK)
load() { # url mode n -> "alerts/s client_ticks"
  /usr/bin/time -f "CPU %U %S" "$B" load --url "$1" --mode "$2" -n "$3" -c 32 > "$work/out" 2>&1
  echo "$(grep -o '[0-9]* alerts/s' "$work/out" | head -1 | cut -d' ' -f1) $(awk -v hz="$hz" '/^CPU/{printf "%d", ($2+$3)*hz}' "$work/out")"
}
us() { echo $(( $1 * 1000000 / hz / $2 )); } # ticks n -> µs per alert
printf "round\tmode\tside\talerts/s\tclient_us\tserver_us\tredis_us\tload1\n"
for r in $(seq 1 "$rounds"); do
  for spec in "duplicate 20000" "unique 10000"; do
    set -- $spec; mode=$1; n=$2
    (sleep 100000 | "$B" load-ceiling > "$work/ceil.url" 2>/dev/null &)
    for i in $(seq 1 50); do [ -s "$work/ceil.url" ] && break; sleep 0.1; done
    cp=$(pgrep -f "baton load-ceiling" | head -1); u=$(cat "$work/ceil.url")
    c0=$(ticks "$cp"); read -r rate cl < <(load "${u%/v1*}" "$mode" "$n"); c1=$(ticks "$cp")
    printf "%s\t%s\tceiling\t%s\t%s\t%s\t-\t%s\n" "$r" "$mode" "$rate" "$(us "$cl" "$n")" "$(us $((c1 - c0)) "$n")" "$(cut -d' ' -f1 /proc/loadavg)"
    pkill -f "baton load-ceiling"; pkill -f "sleep 100000"; rm -f "$work/ceil.url"
    d=$(mktemp -d -p "$work")
    (cd "$d" && redis-server --port 16401 --save '' --appendonly yes --appendfsync everysec --dir "$d" > /dev/null 2>&1 &)
    for i in $(seq 1 50); do redis-cli -p 16401 ping >/dev/null 2>&1 && break; sleep 0.1; done
    (BATON_REDIS_ADDR=127.0.0.1:16401 BATON_HTTP_LISTEN=127.0.0.1:18191 BATON_LOG_LEVEL=warn "$B" serve --config "$cfg" > "$d/serve.log" 2>&1 &)
    for i in $(seq 1 100); do curl -sf -o /dev/null http://127.0.0.1:18191/healthz && break; sleep 0.1; done
    bp=$(pgrep -f "serve --config $cfg" | head -1); rp=$(pgrep -f "redis-server \*:16401" | head -1)
    b0=$(ticks "$bp"); r0=$(ticks "$rp"); read -r rate cl < <(load http://127.0.0.1:18191 "$mode" "$n"); b1=$(ticks "$bp"); r1=$(ticks "$rp")
    printf "%s\t%s\tbaton\t%s\t%s\t%s\t%s\t%s\n" "$r" "$mode" "$rate" "$(us "$cl" "$n")" "$(us $((b1 - b0)) "$n")" "$(us $((r1 - r0)) "$n")" "$(cut -d' ' -f1 /proc/loadavg)"
    pkill -f "serve --config $cfg"; redis-cli -p 16401 shutdown nosave >/dev/null 2>&1; sleep 0.5
  done
done
