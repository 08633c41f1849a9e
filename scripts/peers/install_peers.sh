#!/usr/bin/env bash
# Install the peer simulators archsim is compared against, each in its own venv
# OUTSIDE the repository:
#   scalesim : SCALE-Sim v3   (PyPI scalesim==3.0.0, python3.11)
#   zigzag   : ZigZag         (PyPI zigzag-dse==3.9.*, python3.11)
#   stream   : Stream         (PyPI stream-dse==2.1.1 + onnx, python3.12; six is an undeclared dependency of zigzag)
# Venvs go under ${ARCHSIM_PEERS:-$HOME/.cache/archsim-peers}/<name>.
# Idempotent: an existing venv whose packages already import is left alone.
# Usage: bash scripts/peers/install_peers.sh [scalesim] [zigzag] [stream]
set -euo pipefail

ROOT="${ARCHSIM_PEERS:-$HOME/.cache/archsim-peers}"
mkdir -p "$ROOT"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

find_python() {  # $1 = version, e.g. 3.11
    local v="$1" c
    for c in "/root/.pyenv/versions/$v"*/bin/python"$v" "$(command -v "python$v" 2>/dev/null || true)"; do
        if [ -n "$c" ] && [ -x "$c" ] && "$c" -c 'import venv' 2>/dev/null; then
            echo "$c"; return 0
        fi
    done
    echo "install_peers: no python$v found" >&2; return 1
}

make_venv() {  # $1 = name, $2 = python version, $3 = import check, rest = pip specs
    local name="$1" ver="$2" check="$3"; shift 3
    local dir="$ROOT/$name" py
    if [ -x "$dir/bin/python" ] && "$dir/bin/python" -c "$check" 2>/dev/null; then
        echo "$name: already installed"
    else
        py="$(find_python "$ver")"
        echo "$name: creating venv with $py"
        "$py" -m venv "$dir"
        "$dir/bin/python" -m pip install -q --upgrade pip
        "$dir/bin/python" -m pip install -q "$@"
        "$dir/bin/python" -c "$check"
    fi
    echo "$name python: $dir/bin/python"
}

TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(scalesim zigzag stream)

for t in "${TARGETS[@]}"; do
    case "$t" in
        scalesim) make_venv scalesim 3.11 'import scalesim.scale_sim' 'scalesim==3.0.0' 'numpy<2.4' ;;
        zigzag)   make_venv zigzag 3.11 'import zigzag.api, six' 'zigzag-dse==3.9.*' six ;;
        stream)   make_venv stream 3.12 'import stream.api, onnx' 'stream-dse==2.1.1' onnx six ;;
        *) echo "install_peers: unknown peer '$t' (scalesim|zigzag|stream)" >&2; exit 2 ;;
    esac
done
