#!/usr/bin/env bash
# Relevance check for post search (issue 17): for 20 fixed queries on a dataset, compares the
# top 10 of today's search (the RUM index's best SEARCH_CANDIDATES matches, re-ranked by
# ts_rank_cd) with the old exact ranking (ts_rank_cd over every match, newest first among
# equals). Prints per query: how many of the new top 10 are in the old top 10 by id, and how
# many rank at least as high as the old 10th (ties with it included: for one-word queries
# thousands of posts share a rank, and which of them is "old top 10" is only the id order).
#
#   benches/search-relevance.sh [database]      (default forum_bench_large)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
db=${1:-forum_bench_large}
direct=${FORUM_DATABASE_DIRECT_URL:-postgres://forum:forum@127.0.0.1:5432/forum}
url=${direct%/*}/$db
candidates=$(grep -oP 'pub const SEARCH_CANDIDATES: i64 = \K[0-9_]+' domain/src/store/posts.rs | tr -d _)
queries=(
	"rust" "postgres" "queue" "redis" "cache" "index" "moderation" "karma" "benchmark" "release"
	"rust postgres" "queue latency" "design review" "async tokio" "cursor page"
	"quota limit" "bug -feature" "thread or vote" "search ranking" "server client"
)
total_id=0
total_tie=0
printf '| query | matches | same ids in top 10 | rank >= old 10th |\n|---|---:|---:|---:|\n'
for q in "${queries[@]}"; do
	row=$(psql "$url" -X -At -F '|' -v q="$q" -v n="$candidates" <<'SQL'
WITH q AS (SELECT websearch_to_tsquery('english', :'q') AS q),
old AS (
    SELECT s.post_id, ts_rank_cd(s.search, q.q) AS rank
      FROM post_search s, q WHERE s.search @@ q.q
     ORDER BY rank DESC, s.post_id DESC LIMIT 10),
cand AS (
    SELECT s.post_id, ts_rank_cd(s.search, websearch_to_tsquery('english', :'q')) AS rank
      FROM post_search s
     WHERE s.search @@ websearch_to_tsquery('english', :'q')
     ORDER BY s.search <=> websearch_to_tsquery('english', :'q') LIMIT :n),
new AS (SELECT * FROM cand ORDER BY rank DESC, post_id DESC LIMIT 10)
SELECT (SELECT count(*) FROM post_search s, q WHERE s.search @@ q.q),
       (SELECT count(*) FROM new WHERE post_id IN (SELECT post_id FROM old)),
       (SELECT count(*) FROM new WHERE rank >= (SELECT min(rank) FROM old));
SQL
)
	IFS='|' read -r matches same tie <<<"$row"
	printf '| `%s` | %s | %s | %s |\n' "$q" "$matches" "$same" "$tie"
	total_id=$((total_id + same))
	total_tie=$((total_tie + tie))
done
printf '\naverage over %d queries: %s of 10 by id, %s of 10 ranked at least as high as the old 10th\n' \
	"${#queries[@]}" "$(echo "scale=1; $total_id / ${#queries[@]}" | bc)" "$(echo "scale=1; $total_tie / ${#queries[@]}" | bc)"
