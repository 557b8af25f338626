# fsepuglia: see README.md. Every target works on a fresh machine with Go installed.
GO      ?= go
PKGS    ?= ./...

.PHONY: generate build test lint demo bench

## generate: regenerate generated/ from wsdl/ (gowsdl v0.5.0 pinned in go.mod + our post-processor)
generate:
	$(GO) run ./cmd/gowsdlfix -wsdl wsdl -out generated

## build: compile every package and the fsepuglia binary into bin/
build:
	$(GO) build $(PKGS)
	$(GO) build -buildvcs=auto -o bin/fsepuglia ./cmd/fsepuglia

## test: the whole test suite. go test's own lines, then gotestsum's summary: every skipped
## test and why (a missing independent checker or ../shared/samples); in CI
## (FSEPUGLIA_REQUIRE_CHECKERS=1) a missing checker fails instead of skipping
test:
	$(GO) tool gotestsum --format standard-quiet -- -count=1 $(PKGS)

## lint: gofmt, go vet and the pinned staticcheck
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)

## demo: the whole scenario against a private in-process simulator (needs nothing but Go)
demo:
	$(GO) run ./cmd/fsepuglia demo

## bench: the harness first (cmd/fsepuglia/bench: the real binary's simulator in its own process; the
## library against raw POST of pre-signed envelopes, python3-zeep and node-soap; peak RSS of large
## publish/retrieve under /usr/bin/time -v), then the in-process and the packages' benchmarks (BENCH.md).
## node-soap is installed into $(BENCH_CACHE)/node (outside the repo); a missing peer is skipped with a message.
BENCH_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/fsepuglia/bench
BENCH_FLAGS ?= -rounds 5 -rss
bench:
	@mkdir -p $(BENCH_CACHE)/node
	$(GO) build -o $(BENCH_CACHE)/fsepuglia ./cmd/fsepuglia
	@if command -v npm >/dev/null 2>&1; then npm install --prefix $(BENCH_CACHE)/node --no-audit --no-fund --silent soap@1.13.0 >/dev/null 2>&1 || echo "bench: npm install soap@1.13.0 failed: the node-soap leg will be skipped"; else echo "bench: npm not found: the node-soap leg will be skipped"; fi
	$(GO) run ./cmd/fsepuglia/bench -bin $(BENCH_CACHE)/fsepuglia -node-modules $(BENCH_CACHE)/node $(BENCH_FLAGS)
	$(GO) test -run='^$$' -bench='^BenchmarkSimPublish$$' -benchtime=3x -benchmem ./cmd/fsepuglia/
	$(GO) test -run='^$$' -bench='^BenchmarkSimSearch$$' -benchtime=2s -benchmem ./cmd/fsepuglia/
	$(GO) test -run='^$$' -bench='^BenchmarkPublishSimulator$$' -benchtime=5x -benchmem ./cmd/fsepuglia/
	$(GO) test -run='^$$' -bench=. -benchmem ./adapter/wssec/ ./adapter/docmeta/ ./adapter/pdfcda/ ./adapter/cda/ ./adapter/sim/store/ ./adapter/transport/ ./adapter/outbox/ ./adapter/gateway/ ./generated/wiretest/
	$(GO) test -run='^$$' -bench='^BenchmarkSign100MB$$' -benchtime=2x ./adapter/pades/
