#!/usr/bin/env bash
# Runs a command inside the exporter's virtual environment, creating it first (or again, when
# requirements-pinned.txt has changed since) at the repository root's .venv-export/:
#
#     models/export/venv.sh python -m unittest discover -s models/export/tests -t models/export
#
# Installs offline where pip is configured with a local wheel store: PIP_RETRIES=0 stops pip
# spending minutes retrying a registry it cannot reach. CAPTIONFN_EXPORT_VENV picks another place.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${CAPTIONFN_EXPORT_VENV:-$root/.venv-export}"
requirements="$root/models/export/requirements-pinned.txt"
stamp="$venv/requirements-pinned.sha256"
wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"

if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    started=$SECONDS
    echo "venv.sh: creating $venv from models/export/requirements-pinned.txt" >&2
    if [ -e "$venv" ]; then
        [ -f "$venv/pyvenv.cfg" ] || { echo "venv.sh: $venv exists and is not a virtual environment" >&2; exit 1; }
        rm -rf "$venv"
    fi
    python3 -m venv "$venv"
    PIP_RETRIES=0 PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/python" -m pip install -qq -r "$requirements"
    echo "$wanted" > "$stamp"
    echo "venv.sh: ready in $((SECONDS - started)) s" >&2
fi
export VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH"
exec "$@"
