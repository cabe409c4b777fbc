#!/usr/bin/env bash
# Install the Debian packages the stack, the tests and the benchmarks run on, if missing.
# Usage: scripts/system-packages.sh CHECK=PACKAGE ...
#   CHECK is a command name, or an absolute path pattern (PostgreSQL keeps its server
#   binaries off PATH, under /usr/lib/postgresql/VERSION/bin).
set -euo pipefail

missing=()
for pair in "$@"; do
  check=${pair%%=*}
  pkg=${pair#*=}
  if [[ $check == /* ]]; then
    compgen -G "$check" >/dev/null || missing+=("$pkg")
  else
    command -v "$check" >/dev/null 2>&1 || [ -x "/usr/sbin/$check" ] || missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing system packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "error: need root (or sudo) to install: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
