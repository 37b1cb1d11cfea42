# shellcheck shell=bash
# scripts/lib/stack.sh: local services for development, tests and CI.
#
#   source scripts/lib/stack.sh
#   stack_up        # PostgreSQL :5432, role+db "forum", Redis :6379, PgBouncer :6432
#
# Works where PostgreSQL and Redis already run (reused as they are), and on a fresh
# Debian 12 / Ubuntu 22.04 / 24.04 machine or container without systemd, as root or as a
# user with sudo. Every function is idempotent; a second stack_up is a quick no-op.
# Safe to source under `set -euo pipefail`. Functions report failure by returning
# non-zero (they never `exit`, except ensure_rust), so they also behave correctly when
# called as `stack_up || ...`, where bash ignores `set -e`.
#
# Environment (all optional):
#   FORUM_PGBOUNCER_PORT     PgBouncer port (default 6432)
#   FORUM_PGBOUNCER_BIN      use this pgbouncer binary (must be >= 1.21)
#   FORUM_PGBOUNCER_RUN_DIR  run dir (default /tmp/forum-pgbouncer-<port>)
#   XDG_CACHE_HOME           the PgBouncer build is cached in ${XDG_CACHE_HOME:-$HOME/.cache}/forum
# Exported for callers (unless already set):
#   FORUM_DATABASE_URL, FORUM_DATABASE_DIRECT_URL, FORUM_REDIS_URL
#
# Why PgBouncer >= 1.21: sqlx always uses named prepared statements over the extended
# protocol; in transaction pooling only PgBouncer >= 1.21 with max_prepared_statements > 0
# keeps them correct. 1.18 (Debian 12's package) returns errors and silently WRONG rows
# (see STACK.md), so it is never used.

_STACK_PGB_MIN=1.21
_STACK_PG_PORT=5432
_STACK_REDIS_PORT=6379

# ---------------------------------------------------------------------------------------
# small helpers

_stack_log() { printf 'stack: %s\n' "$*" >&2; }

_stack_die() {
	printf 'stack: ERROR: %s\n' "$*" >&2
	return 1
}

# Exports the connection URLs unless the caller already set them.
stack_env() {
	local port=${FORUM_PGBOUNCER_PORT:-6432}
	export FORUM_DATABASE_URL="${FORUM_DATABASE_URL:-postgres://forum_app:forum@127.0.0.1:${port}/forum}"
	export FORUM_DATABASE_DIRECT_URL="${FORUM_DATABASE_DIRECT_URL:-postgres://forum:forum@127.0.0.1:${_STACK_PG_PORT}/forum}"
	export FORUM_REDIS_URL="${FORUM_REDIS_URL:-redis://127.0.0.1:${_STACK_REDIS_PORT}}"
}

_stack_init() {
	if [[ $(id -u) -eq 0 ]]; then
		SUDO=""
	elif command -v sudo >/dev/null 2>&1; then
		SUDO="sudo"
	else
		SUDO=""
	fi
}

# Runs a command as root: directly when root, else through sudo.
_stack_root() {
	if [[ $(id -u) -eq 0 ]]; then
		"$@"
	elif [[ -n ${SUDO:-} ]]; then
		"$SUDO" "$@"
	else
		_stack_die "need root or sudo to run: $*"
	fi
}

# Runs a command as another (unprivileged) user, from / so that it can chdir.
_stack_as_user() {
	local user=$1
	shift
	if [[ $(id -un) == "$user" ]]; then
		(cd / && "$@")
	elif [[ $(id -u) -eq 0 ]]; then
		if command -v runuser >/dev/null 2>&1; then
			(cd / && runuser -u "$user" -- "$@")
		else
			(cd / && su -s /bin/sh "$user" -c "$(printf '%q ' "$@")")
		fi
	elif [[ -n ${SUDO:-} ]]; then
		(cd / && "$SUDO" -u "$user" -- "$@")
	else
		_stack_die "need root or sudo to run as $user: $*"
	fi
}

# _stack_wait DESCRIPTION SECONDS CMD...: polls CMD until it succeeds or the deadline passes.
_stack_wait() {
	local desc=$1 timeout=$2
	shift 2
	local deadline=$((SECONDS + timeout))
	until "$@" >/dev/null 2>&1; do
		if ((SECONDS >= deadline)); then
			_stack_log "timed out after ${timeout}s waiting for $desc"
			return 1
		fi
		sleep 0.2
	done
}

# _stack_version_ge A B: true when version A >= version B.
_stack_version_ge() {
	[[ $(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1) == "$2" ]]
}

_stack_port_open() {
	timeout 2 bash -c ": </dev/tcp/127.0.0.1/$1" 2>/dev/null
}

_stack_sha256() { sha256sum | cut -d' ' -f1; }

# ---------------------------------------------------------------------------------------
# apt

# Runs a command with its output in a temporary log, shown only on failure. Daemons
# started this way never hold on to the caller's stdout/stderr (e.g. a pipe into tee).
_stack_quiet() {
	local log rc=0
	log=$(mktemp) || return 1
	"$@" </dev/null >"$log" 2>&1 || rc=$?
	if ((rc != 0)); then tail -n 25 "$log" >&2; fi
	rm -f "$log"
	return "$rc"
}

_stack_root_quiet() { _stack_quiet _stack_root "$@"; }

_stack_apt_update_once() {
	if [[ -n ${_STACK_APT_UPDATED:-} ]]; then return 0; fi
	command -v apt-get >/dev/null 2>&1 || _stack_die "apt-get not found: this script supports Debian/Ubuntu only" || return 1
	_stack_log "apt-get update"
	_stack_root_quiet apt-get -q -o DPkg::Lock::Timeout=300 update || _stack_die "apt-get update failed" || return 1
	_STACK_APT_UPDATED=1
}

_stack_apt_install() {
	_stack_apt_update_once || return 1
	_stack_log "apt-get install $*"
	_stack_root_quiet env DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=300 \
		install --no-install-recommends "$@" ||
		_stack_die "apt-get install $* failed"
}

# Installs packages without letting their maintainer scripts start services
# (a packaged pgbouncer would otherwise start on 6432 with its default config).
_stack_apt_install_nostart() {
	local created="" rc=0
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		printf '#!/bin/sh\nexit 101\n' | _stack_root tee /usr/sbin/policy-rc.d >/dev/null &&
			_stack_root chmod 0755 /usr/sbin/policy-rc.d && created=1
	fi
	_stack_apt_install "$@" || rc=$?
	if [[ -n $created ]]; then _stack_root rm -f /usr/sbin/policy-rc.d || true; fi
	return "$rc"
}

# psql, pg_isready, redis-cli.
_stack_client_tools() {
	local pkgs=()
	if ! command -v psql >/dev/null 2>&1 || ! command -v pg_isready >/dev/null 2>&1; then
		pkgs+=(postgresql-client)
	fi
	if ! command -v redis-cli >/dev/null 2>&1; then pkgs+=(redis-tools); fi
	if ((${#pkgs[@]} > 0)); then _stack_apt_install "${pkgs[@]}" || return 1; fi
}

# ---------------------------------------------------------------------------------------
# PostgreSQL

_stack_pg_ready() { pg_isready -q -h 127.0.0.1 -p "$_STACK_PG_PORT" -t 2 >/dev/null 2>&1; }

_stack_pg_newest_cluster() {
	local d
	for d in /etc/postgresql/*/main; do
		if [[ -f $d/postgresql.conf ]]; then basename "$(dirname "$d")"; fi
	done | sort -V | tail -n1
}

stack_postgres_up() {
	_stack_init
	_stack_client_tools || return 1
	if _stack_pg_ready; then
		_stack_log "postgres ok (127.0.0.1:$_STACK_PG_PORT)"
		return 0
	fi
	local ver
	ver=$(_stack_pg_newest_cluster)
	if [[ -z $ver ]]; then
		_stack_apt_install postgresql postgresql-contrib || return 1
		ver=$(_stack_pg_newest_cluster)
		if [[ -z $ver ]]; then # packages present but the cluster was dropped
			ver=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n1)
			[[ -n $ver ]] || _stack_die "PostgreSQL installed but no server version under /usr/lib/postgresql" || return 1
			_stack_log "creating cluster $ver/main"
			_stack_root_quiet pg_createcluster "$ver" main || _stack_die "pg_createcluster $ver main failed" || return 1
		fi
		# the package's maintainer scripts may already have started it
		if _stack_pg_ready; then
			_stack_log "postgres ok (installed $ver)"
			return 0
		fi
	fi
	_stack_log "starting postgres $ver/main"
	# Non-zero also means "already running"; readiness below is what counts, but then a
	# short wait is enough.
	local out rc=0 wait=60
	out=$(_stack_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start </dev/null 2>&1) || rc=$?
	if ((rc != 0)); then wait=5; fi
	if ! _stack_wait "postgres on 127.0.0.1:$_STACK_PG_PORT" "$wait" _stack_pg_ready; then
		if [[ -n $out ]]; then printf '%s\n' "$out" | tail -n 15 >&2; fi
		_stack_die "PostgreSQL $ver/main did not become ready on 127.0.0.1:$_STACK_PG_PORT (is the cluster on another port? see /etc/postgresql/$ver/main/postgresql.conf)"
		return 1
	fi
	_stack_log "postgres ok (started $ver/main)"
}

# RUM (the ranked full-text index search uses) is not a trusted extension: installed with apt
# for the running server's major version and created by a superuser in template1 (so every new
# database, per-test ones included, has it), in forum and in the benchmark databases.
stack_rum_up() {
	_stack_init
	local have major dbs db
	have=$(_stack_psql_super -c "select count(*) from pg_available_extensions where name = 'rum'") || return 1
	if [[ $have != 1 ]]; then
		major=$(_stack_psql_super -c "select current_setting('server_version_num')::int / 10000") || return 1
		_stack_log "installing postgresql-$major-rum"
		_stack_apt_install "postgresql-$major-rum" || return 1
	fi
	dbs=$(_stack_psql_super -c "select datname from pg_database where datallowconn and (datname in ('template1', 'forum') or datname like 'forum\_bench%')") || return 1
	for db in $dbs; do
		_stack_psql_super -d "$db" -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS rum" || return 1
	done
	_stack_log "postgres extension rum ok"
}

# Runs psql as a superuser: over TCP as "postgres" (trust auth), else as the OS user
# postgres over the local socket (peer auth).
_stack_psql_super() {
	local base=(psql -X -w -q -A -t -v ON_ERROR_STOP=1 -d postgres)
	if [[ -z ${_STACK_PG_SUPER:-} ]]; then
		local probe="select rolsuper from pg_roles where rolname = current_user"
		if [[ $(PGCONNECT_TIMEOUT=5 "${base[@]}" -h 127.0.0.1 -p "$_STACK_PG_PORT" -U postgres -c "$probe" 2>/dev/null) == t ]]; then
			_STACK_PG_SUPER=tcp
		elif [[ $(_stack_as_user postgres "${base[@]}" -h /var/run/postgresql -p "$_STACK_PG_PORT" -c "$probe" 2>/dev/null) == t ]]; then
			_STACK_PG_SUPER=socket
		else
			_stack_die "cannot connect to PostgreSQL as a superuser (tried psql -h 127.0.0.1 -U postgres, and the OS user postgres over /var/run/postgresql)"
			return 1
		fi
	fi
	if [[ $_STACK_PG_SUPER == tcp ]]; then
		PGCONNECT_TIMEOUT=5 "${base[@]}" -h 127.0.0.1 -p "$_STACK_PG_PORT" -U postgres "$@"
	else
		_stack_as_user postgres "${base[@]}" -h /var/run/postgresql -p "$_STACK_PG_PORT" "$@"
	fi
}

_stack_forum_login_ok() {
	PGPASSWORD=forum PGCONNECT_TIMEOUT=5 psql -X -w -q -A -t -h 127.0.0.1 -p "$_STACK_PG_PORT" \
		-U forum -d postgres -c 'select 1' >/dev/null 2>&1
}

# Role forum (LOGIN PASSWORD 'forum' CREATEDB) and database forum owned by it; role forum_app
# (LOGIN PASSWORD 'forum', member of forum) that the API and workers log in as.
stack_forum_db_up() {
	_stack_init
	local role owner
	role=$(_stack_psql_super -c "select rolcanlogin and rolcreatedb from pg_roles where rolname = 'forum'") || return 1
	case $role in
	"")
		_stack_log "creating role forum"
		_stack_psql_super -c "CREATE ROLE forum LOGIN PASSWORD 'forum' CREATEDB" || return 1
		;;
	f)
		_stack_log "granting LOGIN CREATEDB to role forum"
		_stack_psql_super -c "ALTER ROLE forum LOGIN CREATEDB" || return 1
		;;
	esac
	if ! _stack_forum_login_ok; then
		_stack_log "resetting the password of role forum"
		_stack_psql_super -c "ALTER ROLE forum PASSWORD 'forum'" || return 1
		_stack_forum_login_ok ||
			_stack_die "role forum cannot log in to 127.0.0.1:$_STACK_PG_PORT with password 'forum' (check pg_hba.conf)" || return 1
	fi
	# The API's own role: it owns nothing and gets the owner's privileges through membership,
	# so its statement timeout (set by the API per database) never reaches the owner's tools.
	role=$(_stack_psql_super -c "select r.rolcanlogin and pg_has_role(r.oid, 'forum', 'USAGE') from pg_roles r where r.rolname = 'forum_app'") || return 1
	case $role in
	"")
		_stack_log "creating role forum_app (member of forum)"
		_stack_psql_super -c "CREATE ROLE forum_app LOGIN PASSWORD 'forum' IN ROLE forum" || return 1
		;;
	f)
		_stack_log "making role forum_app a login member of forum"
		_stack_psql_super -c "ALTER ROLE forum_app LOGIN" -c "GRANT forum TO forum_app" || return 1
		;;
	esac
	# The owner drops databases WITH (FORCE) (tests, the generator), which ends forum_app's
	# sessions in them: that takes pg_signal_backend, as forum is not a member of forum_app.
	if [[ $(_stack_psql_super -c "select pg_has_role('forum', 'pg_signal_backend', 'MEMBER')") != t ]]; then
		_stack_log "granting pg_signal_backend to forum"
		_stack_psql_super -c "GRANT pg_signal_backend TO forum" || return 1
	fi
	if ! PGPASSWORD=forum PGCONNECT_TIMEOUT=5 psql -X -w -q -A -t -h 127.0.0.1 -p "$_STACK_PG_PORT" \
		-U forum_app -d postgres -c 'select 1' >/dev/null 2>&1; then
		_stack_log "resetting the password of role forum_app"
		_stack_psql_super -c "ALTER ROLE forum_app PASSWORD 'forum'" || return 1
	fi
	owner=$(_stack_psql_super -c "select pg_get_userbyid(datdba) from pg_database where datname = 'forum'") || return 1
	case $owner in
	forum) ;;
	"")
		_stack_log "creating database forum"
		_stack_psql_super -c "CREATE DATABASE forum OWNER forum" || return 1
		;;
	*)
		_stack_log "database forum was owned by $owner; giving it to forum"
		_stack_psql_super -c "ALTER DATABASE forum OWNER TO forum" || return 1
		;;
	esac
	_stack_log "postgres role/database forum ok"
}

# ---------------------------------------------------------------------------------------
# Redis

_stack_redis_ready() {
	[[ $(timeout 3 redis-cli -h 127.0.0.1 -p "$_STACK_REDIS_PORT" ping 2>/dev/null) == PONG ]]
}

stack_redis_up() {
	_stack_init
	_stack_client_tools || return 1
	if _stack_redis_ready; then
		_stack_log "redis ok (127.0.0.1:$_STACK_REDIS_PORT)"
		return 0
	fi
	if ! command -v redis-server >/dev/null 2>&1; then
		_stack_apt_install redis-server redis-tools || return 1
		if _stack_redis_ready; then # started by the package's maintainer scripts
			_stack_log "redis ok (installed)"
			return 0
		fi
	fi
	_stack_log "starting redis-server on 127.0.0.1:$_STACK_REDIS_PORT"
	# Dev/test instance: no persistence. Production uses --appendonly yes (docker/compose.yaml).
	local args=(redis-server --daemonize yes --bind 127.0.0.1 --port "$_STACK_REDIS_PORT"
		--save '' --appendonly no --dir /tmp)
	if [[ $(id -u) -eq 0 ]] && id redis >/dev/null 2>&1; then
		_stack_quiet _stack_as_user redis "${args[@]}" || _stack_die "redis-server failed to start" || return 1
	else
		_stack_quiet _stack_as_user "$(id -un)" "${args[@]}" || _stack_die "redis-server failed to start" || return 1
	fi
	_stack_wait "redis PONG on 127.0.0.1:$_STACK_REDIS_PORT" 30 _stack_redis_ready ||
		_stack_die "redis did not answer PING on 127.0.0.1:$_STACK_REDIS_PORT" || return 1
	_stack_log "redis ok (started)"
}

# ---------------------------------------------------------------------------------------
# PgBouncer

_stack_cache_dir() {
	printf '%s/forum\n' "${XDG_CACHE_HOME:-${HOME:?HOME is not set}/.cache}"
}

# Prints the X.Y.Z version a pgbouncer binary reports, or fails.
_stack_pgb_version() {
	local out
	out=$("$1" --version 2>/dev/null) || return 1
	out=${out%%$'\n'*}
	[[ $out =~ ([0-9]+\.[0-9]+(\.[0-9]+)?) ]] || return 1
	printf '%s\n' "${BASH_REMATCH[1]}"
}

_stack_pgb_usable() {
	local v
	[[ -x $1 ]] || return 1
	v=$(_stack_pgb_version "$1") || return 1
	_stack_version_ge "$v" "$_STACK_PGB_MIN"
}

# Newest cached build (<cache>/pgbouncer-<ver>/install/bin/pgbouncer) that is >= 1.21 and
# was built by us with the distribution's patches (marker file install/SOURCE_VERSION).
_stack_pgb_cached() {
	local cache b
	cache=$(_stack_cache_dir) || return 1
	for b in "$cache"/pgbouncer-*/install/bin/pgbouncer; do
		if [[ -s ${b%/bin/pgbouncer}/SOURCE_VERSION ]] && _stack_pgb_usable "$b"; then printf '%s\n' "$b"; fi
	done | sort -V | tail -n1 | grep .
}

_stack_pgb_apt_candidate() {
	local c
	c=$(LC_ALL=C apt-cache policy pgbouncer 2>/dev/null | awk '/Candidate:/ {print $2}')
	c=${c#*:}  # epoch
	c=${c%%-*} # Debian revision
	c=${c%%+*}
	c=${c%%~*}
	printf '%s\n' "$c"
}

# The private apt configuration for the source package: Debian trixie (1.24.x); on Ubuntu,
# noble (1.22.x), because Ubuntu does not carry Debian's archive keys. The system's apt
# configuration is not touched. Sets _STACK_SRC_LINE and _STACK_SRC_OPTS.
_stack_pgb_src_apt() {
	local cache=$1 osid aptdir="$1/apt"
	osid=$(. /etc/os-release && printf '%s %s' "${ID:-}" "${ID_LIKE:-}") || osid=""
	local lines
	if [[ " $osid " == *" ubuntu "* ]]; then
		_STACK_SRC_LINE="Ubuntu noble"
		lines=("deb-src http://archive.ubuntu.com/ubuntu noble main universe"
			"deb-src http://archive.ubuntu.com/ubuntu noble-updates main universe"
			"deb-src http://security.ubuntu.com/ubuntu noble-security main universe")
	else
		_STACK_SRC_LINE="Debian trixie"
		lines=("deb-src http://deb.debian.org/debian trixie main"
			"deb-src http://deb.debian.org/debian-security trixie-security main")
	fi
	mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial" || return 1
	printf '%s\n' "${lines[@]}" >"$aptdir/src.list" || return 1
	_STACK_SRC_OPTS=(-o "Dir::Etc::SourceList=$aptdir/src.list" -o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$aptdir/lists" -o "Dir::Cache=$aptdir/cache")
	if [[ $(id -u) -eq 0 ]]; then _STACK_SRC_OPTS+=(-o APT::Sandbox::User=root); fi
}

# Prints the version of the pgbouncer source package the private apt source offers.
_stack_pgb_src_version() {
	local cache=$1
	_stack_pgb_src_apt "$cache" || return 1
	apt-get "${_STACK_SRC_OPTS[@]}" -qq update >/dev/null 2>&1 || return 1
	apt-cache "${_STACK_SRC_OPTS[@]}" showsrc pgbouncer 2>/dev/null |
		awk '/^Version:/ {print $2}' | sort -V | tail -n1 | grep .
}

# Builds PgBouncer from the distribution's own source package (upstream tarball plus the
# distribution's patches: trixie's 1.24.1 carries five CVE fixes that the bare upstream
# tarball lacks) into <cache>/pgbouncer-<ver>/install. Runs under a lock so that
# concurrent CI jobs on one machine build once. A failed rebuild keeps the previous build.
_stack_pgb_build() {
	local cache
	cache=$(_stack_cache_dir) || return 1
	mkdir -p "$cache" || return 1
	_stack_apt_install libevent-dev libssl-dev pkg-config build-essential patch xz-utils || return 1
	(
		if command -v flock >/dev/null 2>&1; then
			flock -w 1800 9 || _stack_die "timed out waiting for $cache/pgbouncer-build.lock" || exit 1
		fi
		if [[ -z ${_STACK_PGB_FORCE_BUILD:-} ]] && _stack_pgb_cached >/dev/null; then exit 0; fi

		local srcdir="$cache/src" work="$cache/build" stage="$cache/stage" log="$cache/pgbouncer-build.log"
		_stack_pgb_src_apt "$cache" || exit 1
		_stack_log "building PgBouncer from $_STACK_SRC_LINE's source package, ~1-2 min; log: $log"
		: >"$log"
		rm -rf "$srcdir" "$work" "$stage" && mkdir -p "$srcdir" "$work" || exit 1
		{ apt-get "${_STACK_SRC_OPTS[@]}" -q update &&
			(cd "$srcdir" && apt-get "${_STACK_SRC_OPTS[@]}" -q source --download-only pgbouncer); } >>"$log" 2>&1 ||
			{ tail -n 20 "$log" >&2; _stack_die "downloading the pgbouncer source package failed (log: $log)"; exit 1; }

		local tarball debtar dsc ver srcver prefix tree p
		tarball=$(find "$srcdir" -maxdepth 1 -name 'pgbouncer_*.orig.tar.*' ! -name '*.asc' | head -n1)
		debtar=$(find "$srcdir" -maxdepth 1 -name 'pgbouncer_*.debian.tar.*' | head -n1)
		dsc=$(find "$srcdir" -maxdepth 1 -name 'pgbouncer_*.dsc' | head -n1)
		[[ -n $tarball && -n $debtar && -n $dsc ]] || { _stack_die "incomplete source package in $srcdir"; exit 1; }
		ver=${tarball##*/pgbouncer_}
		ver=${ver%%.orig.tar.*}
		srcver=$(awk '/^Version:/ {print $2; exit}' "$dsc")
		_stack_version_ge "$ver" "$_STACK_PGB_MIN" ||
			{ _stack_die "the source package is pgbouncer $ver, older than $_STACK_PGB_MIN"; exit 1; }
		prefix="$cache/pgbouncer-$ver/install"
		tree="$work/pgbouncer-$ver"
		if ! { tar xf "$tarball" -C "$work" && [[ -x $tree/configure ]] && tar xf "$debtar" -C "$tree"; }; then
			_stack_die "cannot unpack $tarball and $debtar"
			exit 1
		fi
		if [[ -f $tree/debian/patches/series ]]; then
			while read -r p _; do
				[[ -z $p || $p == \#* ]] && continue
				printf 'applying debian/patches/%s\n' "$p" >>"$log"
				patch -d "$tree" -p1 -N --batch <"$tree/debian/patches/$p" >>"$log" 2>&1 ||
					{ tail -n 20 "$log" >&2; _stack_die "debian/patches/$p does not apply (log: $log)"; exit 1; }
			done <"$tree/debian/patches/series"
		fi
		(cd "$tree" && ./configure --prefix="$prefix" && make -j"$(nproc)" && make install DESTDIR="$stage") >>"$log" 2>&1 ||
			{ tail -n 30 "$log" >&2; _stack_die "building pgbouncer $srcver failed (log: $log)"; exit 1; }
		_stack_pgb_usable "$stage$prefix/bin/pgbouncer" ||
			{ _stack_die "the built pgbouncer does not report a version >= $_STACK_PGB_MIN"; exit 1; }
		printf '%s\n' "$srcver" >"$stage$prefix/SOURCE_VERSION" || exit 1
		# swap in the new build
		mkdir -p "$cache/pgbouncer-$ver" && rm -rf "$prefix.old" || exit 1
		if [[ -e $prefix ]]; then mv "$prefix" "$prefix.old" || exit 1; fi
		mv "$stage$prefix" "$prefix" || exit 1
		rm -rf "$prefix.old" "$stage" "$work"
		_stack_log "built pgbouncer $srcver into $prefix"
	) 9>>"$cache/pgbouncer-build.lock"
}

# At most once a week: rebuild the cached PgBouncer when the distribution has published a
# newer source package (security fixes). Failures only warn; the cached build stays.
_stack_pgb_refresh() {
	local bin=$1 marker cache have avail
	marker="${bin%/bin/pgbouncer}/SOURCE_VERSION"
	if [[ -n ${FORUM_PGBOUNCER_REBUILD:-} ]]; then
		_stack_log "FORUM_PGBOUNCER_REBUILD is set: rebuilding pgbouncer"
	elif [[ -z $(find "$marker" -mtime +7 2>/dev/null) ]]; then
		return 0
	else
		cache=$(_stack_cache_dir) || return 0
		have=$(cat "$marker")
		avail=$(_stack_pgb_src_version "$cache") || avail=""
		touch "$marker" 2>/dev/null || true
		if [[ -z $avail ]]; then
			_stack_log "warning: could not check for a newer pgbouncer source package; keeping $have"
			return 0
		fi
		if [[ $avail == "$have" ]] || [[ $(printf '%s\n%s\n' "$avail" "$have" | sort -V | tail -n1) == "$have" ]]; then
			return 0
		fi
		_stack_log "pgbouncer source package $avail is newer than the cached build $have: rebuilding"
	fi
	_STACK_PGB_FORCE_BUILD=1 _stack_pgb_build || _stack_log "warning: rebuilding pgbouncer failed; keeping the cached build"
}

# Sets _STACK_PGB_BIN to a pgbouncer binary >= 1.21, installing or building one if needed.
_stack_pgb_binary() {
	local b cand
	if [[ -n ${FORUM_PGBOUNCER_BIN:-} ]]; then
		_stack_pgb_usable "$FORUM_PGBOUNCER_BIN" ||
			_stack_die "FORUM_PGBOUNCER_BIN=$FORUM_PGBOUNCER_BIN is not a pgbouncer >= $_STACK_PGB_MIN ($("$FORUM_PGBOUNCER_BIN" --version 2>&1 | head -n1))" ||
			return 1
		_STACK_PGB_BIN=$FORUM_PGBOUNCER_BIN
		return 0
	fi
	if b=$(_stack_pgb_cached); then
		_stack_pgb_refresh "$b"
		_STACK_PGB_BIN=$(_stack_pgb_cached) || _STACK_PGB_BIN=$b
		return 0
	fi
	for b in "$(command -v pgbouncer 2>/dev/null || true)" /usr/sbin/pgbouncer; do
		if [[ -n $b ]] && _stack_pgb_usable "$b"; then
			_STACK_PGB_BIN=$b
			return 0
		fi
	done
	_stack_apt_update_once || return 1
	cand=$(_stack_pgb_apt_candidate)
	if [[ -n $cand ]] && [[ $cand != "(none)" ]] && _stack_version_ge "$cand" "$_STACK_PGB_MIN"; then
		_stack_log "installing pgbouncer $cand from apt"
		_stack_apt_install_nostart pgbouncer || return 1
		if [[ -d /run/systemd/system ]]; then # don't let the packaged service take our port at boot
			_stack_root systemctl disable --now pgbouncer >/dev/null 2>&1 || true
		fi
		if _stack_pgb_usable /usr/sbin/pgbouncer; then
			_STACK_PGB_BIN=/usr/sbin/pgbouncer
			return 0
		fi
		_stack_log "apt's pgbouncer does not report a version >= $_STACK_PGB_MIN; building from source"
	else
		_stack_log "apt offers pgbouncer ${cand:-(none)}, older than $_STACK_PGB_MIN (unsafe with sqlx in transaction mode); building from source"
	fi
	_stack_pgb_build || return 1
	b=$(_stack_pgb_cached) || _stack_die "no usable pgbouncer after the build" || return 1
	_STACK_PGB_BIN=$b
}

_stack_pgb_port() { printf '%s\n' "${FORUM_PGBOUNCER_PORT:-6432}"; }
_stack_pgb_rundir() { printf '%s\n' "${FORUM_PGBOUNCER_RUN_DIR:-/tmp/forum-pgbouncer-$(_stack_pgb_port)}"; }

# PgBouncer refuses to run as root: as root we run it as nobody, otherwise as ourselves.
_stack_pgb_user() {
	if [[ $(id -u) -eq 0 ]]; then printf 'nobody\n'; else id -un; fi
}

_stack_pgb_ini() {
	local port=$1 rundir=$2
	cat <<EOF
;; Generated by scripts/lib/stack.sh; overwritten on every run.
[databases]
;; wildcard: any database name (per-test databases included) goes to the local server
* = host=127.0.0.1 port=$_STACK_PG_PORT

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $rundir/userlist.txt
admin_users = forum
stats_users = forum, forum_app
;; transaction pooling is only safe for sqlx with PgBouncer >= 1.21 and prepared statements on
pool_mode = transaction
max_prepared_statements = 200
;; sqlx sends extra_float_digits. "options" stays NOT ignored: silently dropping e.g.
;; "-c statement_timeout=..." would be worse than a clear connection error.
ignore_startup_parameters = extra_float_digits
server_reset_query =
max_client_conn = 2000
default_pool_size = 20
;; per database; Postgres here has max_connections = 100
max_db_connections = 60
log_connections = 0
log_disconnections = 0
logfile = $rundir/pgbouncer.log
pidfile = $rundir/pgbouncer.pid
EOF
}

# Prints the pid of our pgbouncer (running from RUNDIR), or fails.
_stack_pgb_our_pid() {
	local rundir=$1 pid
	pid=$(cat "$rundir/pgbouncer.pid" 2>/dev/null) || return 1
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$rundir/pgbouncer.ini" || return 1
	printf '%s\n' "$pid"
}

_stack_pgb_select1() {
	PGCONNECT_TIMEOUT=3 psql -X -w -q -A -t "postgres://forum:forum@127.0.0.1:$1/forum" -c 'select 1' 2>/dev/null | grep -qx 1
}

_stack_pid_gone() { [[ ! -d /proc/$1 ]]; }

_stack_signal() { kill "-$1" "$2" 2>/dev/null || _stack_root kill "-$1" "$2" 2>/dev/null || true; }

# Stops our pgbouncer (pid file in the run dir); returns 0 when none is running.
stack_pgbouncer_down() {
	_stack_init
	local rundir pid
	rundir=$(_stack_pgb_rundir)
	if ! pid=$(_stack_pgb_our_pid "$rundir"); then
		rm -f "$rundir/pgbouncer.pid" 2>/dev/null || true
		_stack_log "pgbouncer: not running from $rundir"
		return 0
	fi
	_stack_log "stopping pgbouncer (pid $pid, run dir $rundir)"
	# >= 1.23: the first SIGTERM waits for clients to disconnect, a second one is immediate.
	_stack_signal TERM "$pid"
	if ! _stack_wait "pgbouncer pid $pid to exit" 5 _stack_pid_gone "$pid"; then
		_stack_signal TERM "$pid"
		if ! _stack_wait "pgbouncer pid $pid to exit" 10 _stack_pid_gone "$pid"; then
			_stack_signal KILL "$pid"
			_stack_wait "pgbouncer pid $pid to exit" 5 _stack_pid_gone "$pid" ||
				_stack_die "pgbouncer pid $pid does not exit" || return 1
		fi
	fi
	rm -f "$rundir/pgbouncer.pid" 2>/dev/null || true
}

# Checks a PgBouncer we did not start; succeeds only if it is usable for us.
_stack_pgb_check_foreign() {
	local port=$1 ver cfg problems=()
	ver=$(PGPASSWORD=forum PGCONNECT_TIMEOUT=3 psql -X -w -q -A -t -h 127.0.0.1 -p "$port" -U forum -d pgbouncer -c 'SHOW VERSION' 2>/dev/null) ||
		_stack_die "port $port is taken by something that is not a PgBouncer accepting forum/forum on its admin console (psql -h 127.0.0.1 -p $port -U forum pgbouncer -c 'SHOW VERSION' fails). Stop it, or set FORUM_PGBOUNCER_PORT to a free port." ||
		return 1
	ver=$(printf '%s\n' "$ver" | grep -oE '[0-9]+\.[0-9]+(\.[0-9]+)?' | head -n1)
	if [[ -z $ver ]] || ! _stack_version_ge "$ver" "$_STACK_PGB_MIN"; then
		problems+=("version ${ver:-unknown} < $_STACK_PGB_MIN")
	fi
	cfg=$(PGPASSWORD=forum PGCONNECT_TIMEOUT=3 psql -X -w -q -A -t -F '|' -h 127.0.0.1 -p "$port" -U forum -d pgbouncer -c 'SHOW CONFIG' 2>/dev/null) || cfg=""
	[[ $(awk -F'|' '$1=="pool_mode"{print $2}' <<<"$cfg") == transaction ]] || problems+=("pool_mode is not transaction")
	[[ $(awk -F'|' '$1=="max_prepared_statements"{print $2}' <<<"$cfg") =~ ^[1-9][0-9]*$ ]] || problems+=("max_prepared_statements is 0")
	[[ $(awk -F'|' '$1=="ignore_startup_parameters"{print $2}' <<<"$cfg") == *extra_float_digits* ]] || problems+=("ignore_startup_parameters lacks extra_float_digits")
	_stack_pgb_select1 "$port" || problems+=("'select 1' as forum/forum on database forum fails")
	if ((${#problems[@]} > 0)); then
		_stack_die "port $port is taken by a PgBouncer that is not usable for us: $(
			IFS=';'
			printf '%s' "${problems[*]}"
		). Stop it, or set FORUM_PGBOUNCER_PORT to a free port."
		return 1
	fi
	_stack_log "pgbouncer ok (127.0.0.1:$port, PgBouncer $ver not started by us; its config was checked)"
}

_stack_pgb_start() {
	local port rundir user group pid want have
	port=$(_stack_pgb_port)
	rundir=$(_stack_pgb_rundir)
	user=$(_stack_pgb_user)
	group=$(id -g "$user") || _stack_die "no user $user to run pgbouncer as" || return 1

	local ini userlist
	ini=$(_stack_pgb_ini "$port" "$rundir")
	userlist=$(printf '"forum" "forum"\n"forum_app" "forum"')
	want=$(printf '%s\n%s\n%s\n' "$ini" "$userlist" "$(_stack_sha256 <"$_STACK_PGB_BIN")" | _stack_sha256)

	if pid=$(_stack_pgb_our_pid "$rundir"); then
		have=$(cat "$rundir/fingerprint" 2>/dev/null || true)
		if [[ $have == "$want" ]] && _stack_pgb_select1 "$port"; then
			_stack_log "pgbouncer ok (127.0.0.1:$port, pid $pid, already running)"
			return 0
		fi
		_stack_log "pgbouncer config or binary changed (or it does not answer): restarting"
		stack_pgbouncer_down || return 1
	fi

	if _stack_port_open "$port"; then
		_stack_pgb_check_foreign "$port"
		return
	fi

	# The run dir must be a real directory owned by the user pgbouncer runs as.
	if [[ -L $rundir ]] || { [[ -e $rundir ]] && [[ $(stat -c %u "$rundir") != "$(id -u "$user")" ]]; }; then
		if [[ $(id -u) -eq 0 ]]; then
			rm -rf "$rundir" || return 1
		else
			_stack_die "$rundir exists but is not a directory owned by $user; remove it or set FORUM_PGBOUNCER_RUN_DIR"
			return 1
		fi
	fi
	if [[ $(id -u) -eq 0 ]]; then
		install -d -m 0700 -o "$user" -g "$group" "$rundir" || return 1
	else
		install -d -m 0700 "$rundir" || return 1
	fi

	# A copy of the binary: "nobody" cannot read root's cache dir.
	if ! cmp -s "$_STACK_PGB_BIN" "$rundir/pgbouncer"; then
		cp "$_STACK_PGB_BIN" "$rundir/pgbouncer.new" && chmod 0755 "$rundir/pgbouncer.new" &&
			mv -f "$rundir/pgbouncer.new" "$rundir/pgbouncer" || return 1
	fi
	printf '%s\n' "$ini" >"$rundir/pgbouncer.ini" || return 1
	(umask 077 && printf '%s\n' "$userlist" >"$rundir/userlist.txt") || return 1
	chmod 0600 "$rundir/userlist.txt" || return 1
	rm -f "$rundir/pgbouncer.pid" "$rundir/fingerprint"
	if [[ $(id -u) -eq 0 ]]; then
		chown "$user:$group" "$rundir/pgbouncer" "$rundir/pgbouncer.ini" "$rundir/userlist.txt" || return 1
		if [[ -e $rundir/pgbouncer.log ]]; then chown "$user:$group" "$rundir/pgbouncer.log" || return 1; fi
	fi

	_stack_log "starting pgbouncer $(_stack_pgb_version "$rundir/pgbouncer") on 127.0.0.1:$port as $user (run dir $rundir)"
	local logstart=0
	if [[ -f $rundir/pgbouncer.log ]]; then logstart=$(wc -l <"$rundir/pgbouncer.log"); fi
	# max_client_conn 2000 needs ~2100 fds: raise the soft limit in the child itself (runuser's
	# pam_limits resets it to 1024). fd 9 is our lock: the daemon must not inherit it.
	local nofile
	nofile=$(ulimit -Hn)
	if [[ $nofile == unlimited ]] || ((nofile > 8192)); then nofile=8192; fi
	# shellcheck disable=SC2016 # expanded by the inner sh
	if ! _stack_quiet _stack_as_user "$user" sh -c 'ulimit -n "$0" 2>/dev/null; exec "$@"' \
		"$nofile" "$rundir/pgbouncer" -d -q "$rundir/pgbouncer.ini" 9>&- ||
		! _stack_wait "pgbouncer on 127.0.0.1:$port" 30 _stack_pgb_select1 "$port"; then
		tail -n "+$((logstart + 1))" "$rundir/pgbouncer.log" 2>/dev/null | tail -n 20 >&2 || true
		_stack_die "pgbouncer did not become ready on 127.0.0.1:$port (log: $rundir/pgbouncer.log)"
		return 1
	fi
	printf '%s\n' "$want" >"$rundir/fingerprint" || return 1
	_stack_log "pgbouncer ok (127.0.0.1:$port, pid $(cat "$rundir/pgbouncer.pid" 2>/dev/null || echo '?'), started)"
}

stack_pgbouncer_up() {
	_stack_init
	_stack_client_tools || return 1
	local cache
	cache=$(_stack_cache_dir) || return 1
	mkdir -p "$cache" || return 1
	_stack_pgb_binary || return 1
	local ver
	ver=$(_stack_pgb_version "$_STACK_PGB_BIN") || ver=unknown
	if [[ $ver == unknown ]] || ! _stack_version_ge "$ver" "$_STACK_PGB_MIN"; then
		_stack_die "$_STACK_PGB_BIN is PgBouncer $ver; >= $_STACK_PGB_MIN is required (older ones corrupt sqlx prepared statements in transaction mode)"
		return 1
	fi
	# One start at a time per user and port (parallel CI jobs on one machine).
	(
		if command -v flock >/dev/null 2>&1; then
			flock -w 120 9 || _stack_die "timed out waiting for the pgbouncer start lock" || exit 1
		fi
		_stack_pgb_start
	) 9>>"$cache/pgbouncer-$(_stack_pgb_port).lock"
}

# ---------------------------------------------------------------------------------------
# entry points

stack_up() {
	local t0=$SECONDS
	_stack_init
	_stack_client_tools || return 1
	stack_postgres_up || return 1
	stack_forum_db_up || return 1
	stack_rum_up || return 1
	stack_redis_up || return 1
	stack_pgbouncer_up || return 1
	stack_env
	_stack_log "ready in $((SECONDS - t0))s: FORUM_DATABASE_URL=$FORUM_DATABASE_URL FORUM_REDIS_URL=$FORUM_REDIS_URL"
}

# Fails (exit 1) with instructions when cargo is missing.
ensure_rust() {
	if ! command -v cargo >/dev/null 2>&1 && [[ -x ${HOME:-/nonexistent}/.cargo/bin/cargo ]]; then
		export PATH="$HOME/.cargo/bin:$PATH"
	fi
	if ! command -v cargo >/dev/null 2>&1; then
		printf '%s\n' \
			"stack: ERROR: cargo not found. Install Rust with rustup (https://rustup.rs):" \
			"  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal" \
			"  . \"\$HOME/.cargo/env\"" \
			"The workspace needs Rust >= 1.94 (sqlx 0.9); CI and the Dockerfile use 1.95." >&2
		exit 1
	fi
}

stack_env
