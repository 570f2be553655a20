#!/usr/bin/env bash
# Two short Redis outages against `baton serve` (logging pager, real
# redis-server): count the log lines baton writes from the first kill to the
# end, and the kinds of line. The figures in BENCHMARKS.md come from it.
# Usage: two-outages.sh /absolute/path/to/baton LABEL   (go build -o /tmp/baton .)
# Needs redis-server, redis-cli and curl.
set -u
BIN=$1; LABEL=$2
RP=$((20000 + RANDOM % 10000)); HP=$((30000 + RANDOM % 10000))
D=$(mktemp -d)
start_redis() { redis-server --port $RP --save '' --appendonly no --dir $D >/dev/null 2>&1 & RPID=$!; 
  until redis-cli -p $RP ping >/dev/null 2>&1; do sleep 0.05; done; }
start_redis
cd "$(dirname "$0")/../../.."
# allow_volatile: this measures logging, not durability (the test Redis has no AOF).
BATON_REDIS_ALLOW_VOLATILE=true BATON_REDIS_ADDR=127.0.0.1:$RP BATON_HTTP_LISTEN=127.0.0.1:$HP $BIN serve --config config.yaml > $D/log 2>&1 & BPID=$!
URL=http://127.0.0.1:$HP
until [ "$(curl -s -o /dev/null -w '%{http_code}' $URL/readyz)" = 200 ]; do sleep 0.1; done
sleep 2
mark=$(wc -l < $D/log)
reqs=0
for outage in 1 2; do
  kill -9 $RPID; wait $RPID 2>/dev/null
  end=$((SECONDS + 3))
  while [ $SECONDS -lt $end ]; do
    curl -s -o /dev/null -H 'Authorization: Bearer change-me-generic-token' -d '{"service":"database","summary":"x"}' $URL/v1/alerts/generic &
    curl -s -o /dev/null $URL/readyz &
    curl -s -o /dev/null -H 'Authorization: Bearer change-me-api-token-0001' $URL/v1/incidents &
    reqs=$((reqs + 3)); sleep 0.1
  done
  wait $(jobs -p | grep -v "^$RPID$" | grep -v "^$BPID$") 2>/dev/null
  start_redis
  until [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer change-me-generic-token' -d '{"service":"database","summary":"x"}' $URL/v1/alerts/generic)" = 202 ]; do reqs=$((reqs+1)); sleep 0.1; done
  sleep 2
done
total=$(($(wc -l < $D/log) - mark))
echo "$LABEL: $reqs failed-or-retried requests in two 3 s outages -> $total log lines"
tail -n +$((mark+1)) $D/log | sed -E 's/time=[^ ]+ //; s/^redis: [0-9\/: ]+/redis: /' | cut -c1-110 | sort | uniq -c | sort -rn | head -8
kill $BPID; wait $BPID 2>/dev/null; kill -9 $RPID 2>/dev/null; wait $RPID 2>/dev/null; rm -rf $D
