# Sourced by scripts/bench, scripts/bench-compare, scripts/refcounts, scripts/memmoves and
# scripts/footprint: the one place that knows how the benchmark executable is built.
#
#   bench_build PACKAGE_DIR BUILD_PATH ALIGNED
#
# Builds SigV4Bench of the Benchmarks package at PACKAGE_DIR in release mode into BUILD_PATH (build
# output on stderr). ALIGNED=1 aligns every function to 64 bytes and every block that is not a
# fall-through to 32 (LLVM's -align-all-functions=6 -align-all-nofallthru-blocks=5): where the
# linker happens to put a hot loop moved untouched rows by up to 6% between builds of the default
# kind, about 2% between aligned ones, so two builds are compared aligned.
bench_build() {
    local package=$1 build=$2 aligned=$3 flags=() f
    if [ "$aligned" = 1 ]; then
        for f in -align-all-functions=6 -align-all-nofallthru-blocks=5; do flags+=(-Xswiftc -Xllvm -Xswiftc "$f"); done
    fi
    # SwiftPM does not re-plan when files are added to a path dependency: drop the cached plan.
    rm -f "$build/release.yaml" "$build/release/description.json"
    swift build --package-path "$package" -c release --build-path "$build" "${flags[@]}" --product SigV4Bench >&2
}

#   bench_build_for_probes
#
# For scripts/refcounts and scripts/memmoves, which put perf uprobes on the libraries the benchmark
# loads: checks that perf is installed, builds SigV4Bench (release, not aligned) into .build-bench,
# relinked so that the probes see this build's binary, and sets `bin` to its path.
bench_build_for_probes() {
    command -v perf >/dev/null || { echo "perf is not installed (apt-get install linux-perf)" >&2; exit 1; }
    local build_path="$PWD/.build-bench"
    rm -f "$build_path/release/SigV4Bench"
    bench_build Benchmarks "$build_path" 0
    bin="$build_path/release/SigV4Bench"
}
