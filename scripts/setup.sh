#!/usr/bin/env bash
# Installs what the tests and the local run need, pinned, on a fresh Debian machine; quick when
# everything is already there. Tools go under .local/ in the checkout (git-ignored).
# `scripts/setup.sh demo` installs only what the local run needs: moto and the registry.
#   moto (AWS emulator)               .local/venv-moto/bin/moto_server
#   sam, cargo-lambda, zig, cfn-lint  .local/venv-sam/bin (template checks and sam build)
#   checkov                           .local/venv-checkov/bin (its own boto3 pin)
#   docker-registry, htpasswd         Debian packages (the private registry the tests log in to)
#   zip                               Debian package (make bench sizes the deployment zips)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
local_dir="$root/.local"
mkdir -p "$local_dir"

python=${PYTHON:-python3}

# venv NAME REQUIREMENTS: a virtual environment holding exactly the pinned requirements.
venv() {
  local name=$1 requirements=$2 dir="$local_dir/venv-$1" stamp
  stamp="$dir/.installed-$(sha256sum "$requirements" | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    echo "setup: installing $name into $dir"
    rm -rf "$dir"
    "$python" -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$requirements"
    touch "$stamp"
  fi
}

venv moto scripts/requirements/moto.txt
if [ "${1:-all}" != demo ]; then
  venv sam scripts/requirements/sam.txt
  venv checkov scripts/requirements/checkov.txt
fi

missing=()
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
command -v htpasswd >/dev/null 2>&1 || missing+=(apache2-utils)
command -v zip >/dev/null 2>&1 || missing+=(zip)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]} (Debian packages)"
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "setup: ready (moto $("$local_dir/venv-moto/bin/python" -c 'import moto; print(moto.__version__)'), $(command -v docker-registry))"
