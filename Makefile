# The two commands a new user needs: `make demo` runs the whole lab locally, `make test` runs
# every test. Both install what they need first (scripts/setup.sh).

MOTO_SERVER := $(CURDIR)/.local/venv-moto/bin/moto_server
export MOTO_SERVER

.PHONY: setup test lint demo bench bench-cleanup

setup:
	scripts/setup.sh

test: setup
	cargo test --workspace
	scripts/check-template.sh

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

# The whole lab on this machine, with the local runner (local/): template.yaml's custom
# resources created, updated to the next image tag and deleted through the real function
# binaries, against moto and docker-registry, then the nightly cleanup. Its setup installs only
# moto and the registry. `cargo run -p local -- help` shows the single steps (up, update, down).
demo:
	scripts/setup.sh demo
	cargo build --quiet -p local -p on-create -p on-update -p on-delete -p on-failure -p nightly-cleanup
	cargo run --quiet -p local -- demo

# The functions' costs (a benchmark, not part of `make test`): init time over 20 cold starts,
# peak RSS, the lab's lifecycle cold and warm, each request's duration and AWS calls by
# operation, and each deployment zip's size; also written to target/bench/lifecycle.json.
bench:
	scripts/setup.sh demo
	cargo build --release -p on-create -p on-update -p on-delete -p on-failure -p nightly-cleanup
	cargo bench --bench lifecycle

# The nightly cleanup at scale: 1000 orphans (BENCH_ORPHANS) swept by the release binary in one
# invocation; prints wall time, AWS calls by operation, deletions and peak RSS.
bench-cleanup: setup
	cargo build --release -p nightly-cleanup
	cargo bench --bench cleanup
