# The two commands a new user needs: `make demo` runs the whole lab locally, `make test` runs
# every test. Both install what they need first (scripts/setup.sh).

MOTO_SERVER := $(CURDIR)/.local/venv-moto/bin/moto_server
export MOTO_SERVER

.PHONY: setup test lint demo bench-cleanup

setup:
	scripts/setup.sh

test: setup
	cargo test --workspace
	scripts/check-template.sh

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

# The whole lab on this machine: template.yaml's custom resources through Create, Update and
# Delete on the real function binaries, against moto and docker-registry, then the cleanup.
demo: setup
	cargo test --workspace --no-run --quiet
	cargo test --test lifecycle -- the_whole_lab_runs_through_create_update_delete_and_cleanup --nocapture

# The nightly cleanup at scale: 1000 orphans (BENCH_ORPHANS) swept by the release binary in one
# invocation; prints wall time, AWS calls by operation, deletions and peak RSS.
bench-cleanup: setup
	cargo build --release -p nightly-cleanup
	cargo bench --bench cleanup
