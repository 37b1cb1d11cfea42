#!/usr/bin/env bash
# The whole benchmark suite in one command: services, release build, dataset (generated once per
# size and seed, kept for later runs), the API on it with rate limits off, the load harness with
# its ceilings, the criterion benches; writes benches/RESULTS-<size>.md.
#
#   benches/run.sh [small|large] [seconds per run] [concurrency levels]
#   benches/run.sh small 10 16,64,256
#
# FORUM_BENCH_RESEED=1 regenerates the large dataset (small is regenerated every run).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib/stack.sh
. scripts/lib/stack.sh
ensure_rust
stack_up

size=${1:-small}
secs=${2:-10}
levels=${3:-16,64,256}
db=forum_bench_$size
pooled=${FORUM_DATABASE_URL%/*}/$db
direct=${FORUM_DATABASE_DIRECT_URL%/*}/$db
out=benches/RESULTS-$size.md
port=${FORUM_BENCH_PORT:-18080}

echo "== building (release)"
cargo build --release --locked -p forum-api -p forum-benches --bins

exists=$(psql "$FORUM_DATABASE_DIRECT_URL" -Atc "SELECT 1 FROM pg_database WHERE datname = '$db'" || true)
# The load writes posts, comments and votes: small (17 s) is regenerated every run, large only
# when asked.
if [[ $exists != 1 || $size != large || ${FORUM_BENCH_RESEED:-0} == 1 ]]; then
	echo "== generating the $size dataset"
	seed_started=$SECONDS
	./target/release/seed "$size" --database "$db"
	echo "dataset $size loaded in $((SECONDS - seed_started)) s"
fi

counts=$(psql "$direct" -Atc "SELECT (SELECT count(*) FROM users) || ' users, ' || (SELECT count(*) FROM communities) || ' communities, ' || (SELECT count(*) FROM posts) || ' posts, ' || (SELECT count(*) FROM comments) || ' comments, ' || ((SELECT count(*) FROM post_votes) + (SELECT count(*) FROM comment_votes)) || ' votes'")
echo "== starting the API on $db (rate limits off), and a second one with listing caches off"
serve() { # port, then extra settings
	local p=$1
	shift
	env FORUM_DATABASE_URL="$pooled" FORUM_DATABASE_DIRECT_URL="$direct" FORUM_MIGRATE_ON_START=false \
		FORUM_RATE_LIMITS_ENABLED=false FORUM_HTTP_ADDR="127.0.0.1:$p" FORUM_LOG_LEVEL=warn \
		FORUM_REDIS_PREFIX="bench:$size:" FORUM_DATABASE_MAX_CONNECTIONS=40 "$@" \
		./target/release/forum-api serve >>/tmp/forum-bench-api.log 2>&1 &
}
: >/tmp/forum-bench-api.log
serve "$port"
api=$!
serve $((port + 1)) FORUM_CACHE_LISTING_TTL_SECS=0 FORUM_CACHE_LOCAL_TTL_MS=0
api_uncached=$!
trap 'kill $api $api_uncached 2>/dev/null || true' EXIT
for p in "$port" $((port + 1)); do
	for _ in $(seq 1 120); do
		curl -fsS "http://127.0.0.1:$p/health/ready" >/dev/null 2>&1 && break
		sleep 0.5
	done
done

echo "== load ($secs s per run, concurrency $levels)"
table=$(./target/release/load --base "http://127.0.0.1:$port" --uncached-base "http://127.0.0.1:$((port + 1))" --database "$pooled" \
	--duration "$secs" --concurrency "$levels")
kill $api $api_uncached 2>/dev/null || true

echo "== criterion (pure code)"
criterion=$(cargo bench --locked -p forum-benches --bench domain -- --warm-up-time 1 --measurement-time 2 2>/dev/null |
	awk '/time: *\[/ {if ($1 != "time:") name = $1; sub(/.*time: *\[/, ""); split($0, t, " "); printf "| %s | %s %s |\n", name, t[3], t[4]; next} NF == 1 {name = $1}')

{
	echo "# Benchmark results: $size dataset"
	echo
	echo "Run $(date -u +%Y-%m-%dT%H:%MZ) with \`benches/run.sh $size $secs $levels\` on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB;"
	echo "server, Postgres, PgBouncer, Redis and the load generator share the machine."
	echo "Dataset (before the run): $counts."
	echo
	echo "$table"
	echo
	echo "Pure code (criterion, median time per call):"
	echo
	echo "| function | time |"
	echo "|---|---:|"
	echo "$criterion"
} >"$out"
cat "$out"
