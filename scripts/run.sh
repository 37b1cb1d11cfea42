#!/usr/bin/env bash
# Sets up everything and runs the forum locally: PostgreSQL, Redis and PgBouncer (installed with
# apt where missing), the API on http://127.0.0.1:8080 and the workers, with demo data.
# Ctrl-C stops the API and the workers (the services keep running).
#
#   FORUM_PROFILE=debug ./scripts/run.sh   # faster first build, slower server
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)

# shellcheck source=scripts/lib/stack.sh
. scripts/lib/stack.sh
ensure_rust
stack_up

profile=${FORUM_PROFILE:-release}
echo "== building forum-api and forum-jobs ($profile)"
if [[ $profile == release ]]; then
	cargo build --release --locked -p forum-api -p forum-jobs
else
	cargo build --locked -p forum-api -p forum-jobs
fi
bin="$root/target/$profile"

export FORUM_HTTP_ADDR=${FORUM_HTTP_ADDR:-127.0.0.1:8080}
# A local demo is driven by one address (yours, or a test suite's): relax the per-address and
# per-user budgets that production keeps tight. Login stays at its production quota (5 per
# minute per address and account). Set any FORUM_* variable yourself to override.
export FORUM_RATE_LIMIT_IP_PER_MINUTE=${FORUM_RATE_LIMIT_IP_PER_MINUTE:-100000}
export FORUM_RATE_LIMIT_USER_PER_MINUTE=${FORUM_RATE_LIMIT_USER_PER_MINUTE:-100000}
export FORUM_QUOTA_REGISTER_PER_MINUTE=${FORUM_QUOTA_REGISTER_PER_MINUTE:-10000}
export FORUM_QUOTA_REGISTER_PER_HOUR=${FORUM_QUOTA_REGISTER_PER_HOUR:-100000}
export FORUM_QUOTA_POSTS_PER_HOUR=${FORUM_QUOTA_POSTS_PER_HOUR:-100000}
export FORUM_QUOTA_COMMENTS_PER_HOUR=${FORUM_QUOTA_COMMENTS_PER_HOUR:-100000}
export FORUM_QUOTA_REPORTS_PER_DAY=${FORUM_QUOTA_REPORTS_PER_DAY:-100000}
# The demo's first admin, ensured by forum-api at start (development only: override or unset
# these for anything real).
export FORUM_BOOTSTRAP_ADMIN_USERNAME=${FORUM_BOOTSTRAP_ADMIN_USERNAME:-admin}
export FORUM_BOOTSTRAP_ADMIN_EMAIL=${FORUM_BOOTSTRAP_ADMIN_EMAIL:-admin@example.com}
export FORUM_BOOTSTRAP_ADMIN_PASSWORD=${FORUM_BOOTSTRAP_ADMIN_PASSWORD:-admin-password-123}
export FORUM_PUBLIC_URL=${FORUM_PUBLIC_URL:-http://$FORUM_HTTP_ADDR}
# Without FORUM_SMTP_URL the workers write each email as an .eml file here.
export FORUM_MAIL_DIR=${FORUM_MAIL_DIR:-$root/.forum/mail}
# Uploaded images and their variants (served by the API under /media/).
export FORUM_MEDIA_DIR=${FORUM_MEDIA_DIR:-$root/.forum/media}
logs="$root/.forum/logs"
mkdir -p "$logs"

"$bin/forum-api" migrate

pids=()
stop() {
	trap - INT TERM EXIT
	echo
	echo "== stopping"
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap stop INT TERM EXIT

"$bin/forum-jobs" >>"$logs/jobs.log" 2>&1 &
pids+=($!)
"$bin/forum-api" serve 2>&1 | tee -a "$logs/api.log" &
pids+=($!)

url="http://$FORUM_HTTP_ADDR"
deadline=$((SECONDS + 60))
until curl -fsS "$url/health/ready" >/dev/null 2>&1; do
	if ((SECONDS > deadline)); then
		echo "the API did not become ready within 60 s; see $logs/api.log" >&2
		exit 1
	fi
	sleep 0.5
done

# Demo data through the API itself; an existing demo account (409) is fine.
demo_user=demo
demo_password=demo-password-123
code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'content-type: application/json' \
	-d "{\"username\":\"$demo_user\",\"email\":\"demo@example.com\",\"password\":\"$demo_password\"}" \
	"$url/api/v1/auth/register")
case $code in 201 | 409) ;; *) echo "demo seeding failed: HTTP $code" >&2 ;; esac
# A first community with a few posts and a comment, made once (a second run finds it: 409).
demo_api() { # method path json [token]
	curl -sS -X "$1" -H 'content-type: application/json' ${4:+-H "authorization: Bearer $4"} \
		-d "$3" "$url/api/v1$2"
}
token=$(demo_api POST /auth/login "{\"login\":\"$demo_user\",\"password\":\"$demo_password\"}" |
	sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
if [[ -n $token ]] && demo_api POST /communities \
	'{"name":"welcome","title":"Welcome","description":"The demo community."}' "$token" |
	grep -q '"name":"welcome"'; then
	first=""
	for title in "Hello from the demo" "How hot ranking works" "Ask me anything about the API"; do
		id=$(demo_api POST /communities/welcome/posts "{\"title\":\"$title\",\"body\":\"A **demo** post.\"}" "$token" |
			grep -o '"id":"[^"]*"' | head -n 1 | cut -d'"' -f4)
		first=${first:-$id}
	done
	if [[ -n $first ]]; then
		demo_api POST "/posts/$first/comments" '{"body":"A first comment."}' "$token" >/dev/null
		demo_api PUT "/posts/$first/vote" '{"value":1}' "$token" >/dev/null
	fi
fi

cat <<INFO

  Forum API     $url/api/v1   (docs: $url/docs, spec: $url/openapi.json)
  Health        $url/health/ready
  Metrics       $url/metrics
  Demo login    username "$demo_user", password "$demo_password"
  Admin login   username "$FORUM_BOOTSTRAP_ADMIN_USERNAME", password "$FORUM_BOOTSTRAP_ADMIN_PASSWORD"
                curl -s -H 'content-type: application/json' -d '{"login":"$demo_user","password":"$demo_password"}' $url/api/v1/auth/login
  Logs          $logs/ (workers: jobs.log)
  Email         ${FORUM_SMTP_URL:-.eml files in $FORUM_MAIL_DIR}
  Images        $FORUM_MEDIA_DIR (served at $url/media/)
  Workers       metrics at http://${FORUM_JOBS_METRICS_ADDR:-127.0.0.1:9091}/metrics; queues at $url/api/v1/admin/jobs (admin)
  Summaries     ${FORUM_OPENAI_API_KEY:+OpenAI, }${FORUM_ANTHROPIC_API_KEY:+Anthropic, }local extractive summarizer
  Limits        demo budgets are relaxed except login (README, "Limits and hardening")

  Ctrl-C stops the API and workers.
INFO

wait -n "${pids[@]}" || true
