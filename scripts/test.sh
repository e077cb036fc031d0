#!/usr/bin/env bash
# Runs every test of the repository: the library module with the race
# detector, then the nested modules (the PostgreSQL tests in internal/pgtest,
# the examples with their own go.mod). The PostgreSQL tests need a server:
# export PAYCALLBACK_TEST_DSN=postgres://... to run them (.ci/run starts a
# throwaway one); without it they are skipped, loudly.
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
run() {
	echo "== $*" >&2
	"$@" || status=1
}

run go test -race -count=1 ./...

for mod in $(git ls-files '*/go.mod' 2>/dev/null | xargs -r -n1 dirname | sort -u); do
	(
		cd "$mod"
		run go vet ./...
		run go test -race -count=1 ./...
		exit $status
	) || status=1
done

if [ -z "${PAYCALLBACK_TEST_DSN:-}" ]; then
	cat >&2 <<'MSG'

########################################################################
# PAYCALLBACK_TEST_DSN is unset: the PostgreSQL store tests were SKIPPED.
# Start a throwaway server and run them with:
#   export PAYCALLBACK_TEST_DSN=$(.ci/start-postgres) && bash scripts/test.sh
########################################################################
MSG
fi
exit $status
