#!/usr/bin/env bash
# Sets up everything (PostgreSQL, Redis, PgBouncer >= 1.21; installed with apt where missing)
# and runs the whole test suite: formatting, clippy, unit and black-box integration tests.
# This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/lib/stack.sh
. scripts/lib/stack.sh
ensure_rust
stack_up

# From PyPI, in a virtualenv cached outside the clone: schemathesis (API fuzzing) and aiosmtpd
# (the real SMTP server the mail tests send to).
venv="${XDG_CACHE_HOME:-$HOME/.cache}/forum/venv"
if ! "$venv/bin/python" -c 'import schemathesis, aiosmtpd' 2>/dev/null; then
	echo "== installing schemathesis and aiosmtpd into $venv"
	if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
		_stack_apt_install python3-venv python3-pip
	fi
	python3 -m venv "$venv"
	"$venv/bin/pip" install --quiet --disable-pip-version-check 'schemathesis==4.32.5' 'aiosmtpd==1.4.6'
fi
export FORUM_SCHEMATHESIS="$venv/bin/schemathesis"
export FORUM_PYTHON="$venv/bin/python"

started=$(date +%s)
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked --lib --bins --tests 2>&1 | tee "$log"
# One closing line over every test binary (cargo prints one per binary, the last often "0 passed").
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
echo "== all checks passed in $(( $(date +%s) - started ))s"
