#!/usr/bin/env bash
# Redis out of memory (maxmemory 1, noeviction: reads answered, writes refused)
# for 15 s under `baton serve` (logging pager, real redis-server), with an
# open incident and a client sending a webhook and an API call every 250 ms:
# the log lines baton writes from the OOM on, by kind. Figures: BENCHMARKS.md.
# Usage: oom.sh /absolute/path/to/baton DIR  (DIR holds the config.yaml to
# serve, e.g. the example with repage_every: 10s). Needs redis-server,
# redis-cli and curl.
set -u
BIN=$1; SRC=$2
RP=$((20000 + RANDOM % 10000)); HP=$((30000 + RANDOM % 10000))
D=$(mktemp -d)
redis-server --port $RP --save '' --appendonly no --dir $D >/dev/null 2>&1 & RPID=$!
until redis-cli -p $RP ping >/dev/null 2>&1; do sleep 0.05; done
cd $SRC
BATON_REDIS_ALLOW_VOLATILE=true BATON_REDIS_ADDR=127.0.0.1:$RP BATON_HTTP_LISTEN=127.0.0.1:$HP $BIN serve --config config.yaml > $D/log 2>&1 & BPID=$!
URL=http://127.0.0.1:$HP
up=$((SECONDS + 30))
until [ "$(curl -s -o /dev/null -w '%{http_code}' $URL/readyz)" = 200 ]; do
  [ $SECONDS -lt $up ] || { echo "baton did not become ready:"; cat $D/log; kill $BPID $RPID; exit 1; }
  sleep 0.1
done
curl -s -H 'Authorization: Bearer change-me-generic-token' -d '{"service":"database","summary":"x"}' $URL/v1/alerts/generic; echo
sleep 9   # past start-up, before the next re-page is due
mark=$(wc -l < $D/log)
redis-cli -p $RP config set maxmemory-policy noeviction >/dev/null; redis-cli -p $RP config set maxmemory 1 >/dev/null
end=$((SECONDS + 15))
while [ $SECONDS -lt $end ]; do
  curl -s -o /dev/null -H 'Authorization: Bearer change-me-generic-token' -d '{"service":"database","summary":"y"}' $URL/v1/alerts/generic
  curl -s -o /dev/null -H 'Authorization: Bearer change-me-api-token-0001' $URL/v1/incidents
  sleep 0.25
done
redis-cli -p $RP config set maxmemory 0 >/dev/null
sleep 3
tail -n +$((mark+1)) $D/log | sed -E 's/time=[^ ]+ //' | cut -c1-150 | sed -E 's/(down_for|after|for|failures|attempt|retry_in)=[^ ]+//g' | sort | uniq -c | sort -rn | head -14
kill $BPID; wait $BPID 2>/dev/null; kill -9 $RPID; wait $RPID 2>/dev/null; rm -rf $D
