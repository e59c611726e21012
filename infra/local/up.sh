#!/usr/bin/env bash
# install + start all + status. Idempotent; safe to run when everything is already up.
# Usage: bash infra/local/up.sh
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
bash "$here/install.sh"
bash "$here/start.sh" all
bash "$here/status.sh" all
