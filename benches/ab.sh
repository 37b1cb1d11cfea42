#!/usr/bin/env bash
# Interleaved A/B at one concurrency: two builds of forum-api serve the same dataset at once
# (each with a cached and an uncached instance) and the load harness runs its scenarios against
# one, then the other, in the order A B B A (then A B again for a single scenario), so that drift
# of the dataset and of a noisy host falls evenly on both. Needs `benches/run.sh small` to have
# built the harness and generated the dataset first.
#
#   benches/ab.sh BEFORE/forum-api AFTER/forum-api [scenario]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
before=${1:?path of the "before" forum-api binary}
after=${2:?path of the "after" forum-api binary}
scenario=${3:-}
eval "$(./scripts/stack.sh env)"
db=forum_bench_small
pooled=${FORUM_DATABASE_URL%/*}/$db
direct=${FORUM_DATABASE_DIRECT_URL%/*}/$db
serve() { # binary, port, then extra settings; prints the pid
	local bin=$1 p=$2
	shift 2
	env FORUM_DATABASE_URL="$pooled" FORUM_DATABASE_DIRECT_URL="$direct" FORUM_MIGRATE_ON_START=false \
		FORUM_RATE_LIMITS_ENABLED=false FORUM_HTTP_ADDR="127.0.0.1:$p" FORUM_LOG_LEVEL=warn \
		FORUM_REDIS_PREFIX="ab:$p:" FORUM_DATABASE_MAX_CONNECTIONS=40 "$@" \
		"$bin" serve >>/tmp/forum-ab-api.log 2>&1 &
	echo $!
}
uncached=(FORUM_CACHE_LISTING_TTL_SECS=0 FORUM_CACHE_LOCAL_TTL_MS=0)
pids=("$(serve "$before" 18100)" "$(serve "$before" 18101 "${uncached[@]}")"
	"$(serve "$after" 18200)" "$(serve "$after" 18201 "${uncached[@]}")")
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
for p in 18100 18101 18200 18201; do
	for _ in $(seq 1 120); do
		curl -fsS "http://127.0.0.1:$p/health/ready" >/dev/null 2>&1 && break
		sleep 0.5
	done
done
pass() { # label, port, pass number
	./target/release/load --base "http://127.0.0.1:$2" --uncached-base "http://127.0.0.1:$(($2 + 1))" \
		--database "$pooled" --duration 10 --concurrency "${FORUM_AB_CONCURRENCY:-64}" \
		${scenario:+--scenario "$scenario"} 2>&1 >/dev/null | grep -v '^$' | sed "s/^/$1#$3 /"
}
pass before 18100 1
pass after 18200 1
pass after 18200 2
pass before 18100 2
if [[ -n $scenario ]]; then
	pass before 18100 3
	pass after 18200 3
fi
