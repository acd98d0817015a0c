# The two commands a new user needs: `make demo` runs the whole lab locally, `make test` runs
# every test. Both install what they need first (scripts/setup.sh).

MOTO_SERVER := $(CURDIR)/.local/venv-moto/bin/moto_server
export MOTO_SERVER

.PHONY: setup test lint demo

setup:
	scripts/setup.sh

test: setup
	cargo test --workspace
	scripts/check-template.sh

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

demo: setup
	@echo "The local lifecycle run arrives with its own issue (see README: Local run)." >&2
	@exit 2
