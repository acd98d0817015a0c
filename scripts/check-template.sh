#!/usr/bin/env bash
# Checks template.yaml offline: SAM's and CloudFormation's linters, checkov (skips and their
# reasons in .checkov.yaml), and a real `sam build` of every function with cargo-lambda; and the
# user stacks in examples/ with cfn-lint (tests/examples.rs runs them locally). The build is
# sam's debug mode: the same template metadata, cargo-lambda and zig, without the deployment
# profile's LTO (several times longer; `make bench` builds and measures that one).
set -euo pipefail
cd "$(dirname "$0")/.."
tools="$(pwd)/.local"
export PATH="$tools/venv-sam/bin:$PATH" SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"

echo "== sam validate --lint"
sam validate --lint --region "$AWS_DEFAULT_REGION"
echo "== cfn-lint"
cfn-lint template.yaml examples/*.yaml
echo "== checkov"
"$tools/venv-checkov/bin/checkov" --framework cloudformation --skip-download -f template.yaml \
  --config-file .checkov.yaml --compact --quiet
echo "== cargo lambda build (the five functions in one cargo run; sam build reuses its output)"
cargo lambda build -p on-create -p on-update -p on-delete -p on-failure -p nightly-cleanup
echo "== sam build (debug mode)"
SAM_BUILD_MODE=debug sam build --region "$AWS_DEFAULT_REGION"
for function in OnCreateFunction OnUpdateFunction OnDeleteFunction OnFailureFunction NightlyCleanupFunction; do
  test -x ".aws-sam/build/$function/bootstrap" || { echo "sam build made no bootstrap for $function" >&2; exit 1; }
done
echo "template checks passed"
