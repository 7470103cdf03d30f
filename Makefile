# The two commands of the README: `make run` and `make test`. Both set up what is missing first.
CONFIG ?= tandem.toml
JOBS ?= $(shell nproc)
# ccache keys on relative paths, so a clone in another folder (CI) reuses the cache.
export CCACHE_BASEDIR := $(CURDIR)

.PHONY: setup build build-asan run test test-unit test-asan test-integration test-e2e bench bench-local bench-tasks format clean

setup:
	@scripts/setup.sh

build: setup
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

build-asan: setup
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS) --target tandem_unit_tests tandem_integration_tests \
		tandem_llm_tests tandem_dataset_tests tandem_model_tests tandem_text_model_tests \
		tandem_vision_model_tests

run: build
	./build/release/src/tandem/tandem serve --config $(CONFIG)

test-unit: build
	ctest --preset release -L unit

test-asan: build-asan
	ctest --preset asan

test-integration: build
	ctest --preset release -L integration

test-e2e: build
	tests/e2e/run.sh

test: build build-asan
	ctest --preset release
	ctest --preset asan
	tests/e2e/run.sh

bench: build
	bench/gateway/run.sh

bench-local: build
	bench/local/run.sh

bench-tasks: build
	bench/tasks/run.sh

.PHONY: bench-routing
bench-routing: build
	bench/routing/run.sh

.PHONY: bench-distill
bench-distill: build
	bench/distill/run.sh

format:
	clang-format -i $$(git ls-files 'src/*.cpp' 'src/*.h' 'tests/*.cpp' 'tests/*.h')

clean:
	rm -rf build
