# The two commands of the README, and a few for developers.
#   make run    install dependencies, build a release binary, start `sicher serve`
#   make test   install dependencies, build with ASan+UBSan, run every test
# Developers: make test-fast (unit tests only), make tsan, make fuzz, make bench, make format.

JOBS ?= $(shell nproc)
SICHER_ARGS ?=

.PHONY: deps build run test test-fast tsan fuzz bench format clean

deps:
	scripts/install-deps

build: deps
	cmake --preset release
	cmake --build --preset release -j $(JOBS)

run: build
	./build/release/sicher serve $(SICHER_ARGS)

test: deps
	cmake --preset asan
	cmake --build --preset asan -j $(JOBS)
	ctest --preset asan --timeout 600

test-fast: deps
	cmake --preset asan
	cmake --build --preset asan -j $(JOBS)
	ctest --preset asan -L unit

tsan: deps
	cmake --preset tsan
	cmake --build --preset tsan -j $(JOBS)
	ctest --preset tsan -L unit

fuzz: deps
	cmake --preset fuzz
	cmake --build --preset fuzz -j $(JOBS) --target fuzz_request_parser fuzz_router
	./build/fuzz/src/sicher/net/fuzz_request_parser -max_total_time=60
	./build/fuzz/src/sicher/api/fuzz_router -max_total_time=60

bench: build
	bench/http_vs_nginx.sh

format:
	find src bench -name '*.cc' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf build
