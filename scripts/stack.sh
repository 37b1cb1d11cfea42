#!/usr/bin/env bash
# Brings up the local services (PostgreSQL, role/db forum, Redis, PgBouncer >= 1.21).
#   ./scripts/stack.sh                  # idempotent; prints the URLs to use
#   ./scripts/stack.sh down-pgbouncer   # stops the PgBouncer started by this script
#   eval "$(./scripts/stack.sh env)"    # export FORUM_DATABASE_URL etc. into your shell
# See scripts/lib/stack.sh for details and environment overrides.
set -euo pipefail

# shellcheck source=scripts/lib/stack.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/stack.sh"

case "${1:-up}" in
up)
	stack_up
	;;
down-pgbouncer)
	stack_pgbouncer_down
	;;
up-pgbouncer)
	# Only PgBouncer (tests start extra ones on other ports via FORUM_PGBOUNCER_PORT/_RUN_DIR).
	stack_pgbouncer_up
	;;
env)
	printf 'export FORUM_DATABASE_URL=%q\n' "$FORUM_DATABASE_URL"
	printf 'export FORUM_DATABASE_DIRECT_URL=%q\n' "$FORUM_DATABASE_DIRECT_URL"
	printf 'export FORUM_REDIS_URL=%q\n' "$FORUM_REDIS_URL"
	;;
-h | --help | help)
	sed -n '2,6p' "$0"
	;;
*)
	echo "usage: $0 [up|down-pgbouncer|up-pgbouncer|env]" >&2
	exit 2
	;;
esac
