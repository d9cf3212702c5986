# iobench: a thin front door. CMake does the building; this file installs
# what is missing (scripts/deps.sh), configures the build directories and
# forwards. `make bench` and `make test` are all a fresh clone needs.

BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
SUITE      ?= default
RESULTS    ?= results/latest
FUZZ_SECONDS ?= 60
INTEROP_SECONDS ?= 5
CMAKE_FLAGS ?=

IOBENCH := $(BUILD)/harness/iobench
# The suites that run threaded programs (ioload, and the thread and pool
# models); make tsan runs these.
THREADED_TESTS := conformance|hostile|test_ioload$$|model_limits|server_options|ioload_cli|engines

# The variables that narrow the suites (IOBENCH_TEST_MODELS) or point them
# at other binaries (IOBENCH_IOSERVE, IOBENCH_IOLOAD) are cleared for
# `make test`, unless given on the make command line on purpose.
TEST_VARS := IOBENCH_TEST_MODELS IOBENCH_IOSERVE IOBENCH_IOLOAD
TEST_ENV := env $(foreach v,$(TEST_VARS),$(if $(filter command line,$(origin $(v))),$(v)='$($(v))',-u $(v)))
# A build without criterion, or a filter that matches nothing, fails.
CTEST := ctest --no-tests=error --output-on-failure
# Timing properties (open-loop sends on time) run on the Release build only:
# under a sanitizer they would measure the sanitizer.
TIMING_TESTS := openloop

.PHONY: all deps deps-build deps-bench deps-check deps-cluster build build-asan test check tsan helgrind fuzz \
        bench bench-quick bench-models bench-ioload bench-framer interop report-pdf format clean

all: build

# Each target installs only the Debian packages it needs (scripts/deps.sh).
deps:
	@bash scripts/deps.sh all
deps-build:
	@bash scripts/deps.sh build
deps-bench:
	@bash scripts/deps.sh bench
deps-check:
	@bash scripts/deps.sh check
deps-cluster:
	@bash scripts/deps.sh cluster

# Configure once per directory; re-running cmake --build picks up changes.
$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIOBENCH_SANITIZE=address $(CMAKE_FLAGS)
$(TSAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIOBENCH_SANITIZE=thread $(CMAKE_FLAGS)

build: deps-build $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps-build $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS)

# Every suite on the Release build, then every suite again under
# AddressSanitizer and UndefinedBehaviorSanitizer (the test binaries, and
# the ioserve, ioload and iobench they run, all instrumented).
test: build build-asan
	$(TEST_ENV) $(CTEST) --test-dir $(BUILD)
	$(TEST_ENV) ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(CTEST) --test-dir $(ASAN_BUILD) -E '$(TIMING_TESTS)'

# The threaded code (the thread and pool models, ioload) under ThreadSanitizer.
# Criterion cannot run under TSan (its inheritable arena fails to map), so
# only the programs are instrumented; the Release test binaries drive them.
# The aio model is left out: glibc's AIO helper threads start more helpers
# through glibc's internal pthread_create, which TSan does not intercept,
# and TSan then crashes in its own allocator; `make helgrind` covers it.
tsan: build $(TSAN_BUILD)/CMakeCache.txt
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target ioserve ioload
	TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp" \
	  IOBENCH_IOSERVE=$(CURDIR)/$(TSAN_BUILD)/servers/ioserve \
	  IOBENCH_IOLOAD=$(CURDIR)/$(TSAN_BUILD)/loadgen/ioload \
	  IOBENCH_TEST_MODELS=thread,pool \
	  $(CTEST) --test-dir $(BUILD) -R '$(THREADED_TESTS)'

# The aio model under Helgrind, since TSan cannot run it (scripts/helgrind.sh).
helgrind: deps-check build
	bash scripts/helgrind.sh

fuzz: deps-check
	bash scripts/fuzz.sh $(FUZZ_SECONDS)

# make test, plus ThreadSanitizer, Helgrind on aio and a bounded fuzz run.
check: test tsan helgrind fuzz

# Without gnuplot (a user who cannot install it) the charts are skipped with
# one line; the run and the report do not need them.
bench: deps-bench build
	$(IOBENCH) run --suite $(SUITE)
	@if command -v gnuplot >/dev/null; then $(IOBENCH) plot results/latest; else \
	  echo "iobench: gnuplot not found: charts skipped; draw them later with $(IOBENCH) plot $$(readlink -f results/latest)"; fi
	$(IOBENCH) report results/latest
	@echo "results: $$(readlink -f results/latest)"

bench-quick:
	$(MAKE) bench SUITE=quick

# RESULTS/report.tex as report.pdf, where TeX Live's pdflatex is installed.
report-pdf:
	@command -v pdflatex >/dev/null || { echo "make report-pdf: pdflatex not found;" \
	  "install it with: bash scripts/deps.sh report (as root)" >&2; exit 1; }
	@cd $(RESULTS) && pdflatex -interaction=nonstopmode -halt-on-error report.tex >/dev/null \
	  || { tail -n 20 $(RESULTS)/report.log >&2; exit 1; }
	@echo "report: $(RESULTS)/report.pdf"

# Reference benchmarks (not tests): each model against nginx, ioload against wrk.
bench-models: deps-bench build
	bash scripts/bench-models.sh
bench-ioload: deps-bench build
	bash scripts/bench-ioload.sh
# ioload's response framer against libhttp-parser, in instructions (callgrind).
bench-framer: deps-check build
	bash scripts/bench-framer.sh
# curl, ab -k, wrk and h2load --h1 against every concurrent model (a check).
interop: deps-bench build
	bash scripts/interop.sh $(INTEROP_SECONDS)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) build-fuzz
