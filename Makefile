# The two commands a newcomer needs: `make serve` and `make test`.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
# -g1: line tables and function names (enough for perf, gdb backtraces and sanitizers'
# reports) at a fraction of -g's compile time; a user's own -DCMAKE_BUILD_TYPE is untouched.
RELEASE_FLAGS := -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG"
CMAKE_FLAGS ?= $(RELEASE_FLAGS) -DTIDAL_WERROR=ON
PGO_BUILD ?= build-pgo
CTEST_FLAGS ?= --output-on-failure --timeout 600

.PHONY: setup build build-pgo serve test test-unit test-e2e test-asan bench bench-scaling bench-routing clean

setup:
	@scripts/setup

build: setup
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# A faster tidal for deployment (opt-in; BENCHMARKS.md): build it instrumented, run
# scripts/pgo_train's traffic through it, and build it again optimized by those counts.
# Only the tidal binary; about twice a cold build. Result: $(PGO_BUILD)/src/tidal
build-pgo: setup
	@cmake -S . -B $(PGO_BUILD) $(RELEASE_FLAGS) -DTIDAL_PGO=generate >/dev/null
	@cmake --build $(PGO_BUILD) -j $(JOBS) --target tidal
	@rm -rf $(PGO_BUILD)/pgo-profile
	scripts/pgo_train $(PGO_BUILD)/src/tidal
	@cmake -S . -B $(PGO_BUILD) -DTIDAL_PGO=use >/dev/null
	@cmake --build $(PGO_BUILD) -j $(JOBS) --target tidal

serve: build
	$(BUILD)/src/tidal serve

test: build
	cd $(BUILD) && ctest $(CTEST_FLAGS) -j $(JOBS)

# The in-process tests only (seconds), or only the end-to-end ones (real processes).
test-unit: build
	cd $(BUILD) && ctest $(CTEST_FLAGS) -j $(JOBS) -L unit

test-e2e: build
	cd $(BUILD) && ctest $(CTEST_FLAGS) -j $(JOBS) -L e2e

test-asan: setup
	@cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTIDAL_SANITIZE=ON -DTIDAL_WERROR=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest $(CTEST_FLAGS) -j $(JOBS)

bench: build
	$(BUILD)/benchmarks/tidal_benchmarks --benchmark_min_time=0.2
	scripts/bench_gateway $(BUILD)

# Routing policies vs nginx on four workloads: docs/routing-results.md.
bench-routing: build
	scripts/bench_routing $(BUILD)

# Every autoscaler of examples/sim/ on the scenarios and traces: docs/scaling-results.md.
bench-scaling: build
	scripts/bench_scaling $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
