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

## bench: publication and search throughput against the simulator, plus the packages' own benchmarks (BENCH.md)
bench:
	$(GO) test -run='^$$' -bench='^BenchmarkSimPublish$$' -benchtime=3x -benchmem ./cmd/fsepuglia/
	$(GO) test -run='^$$' -bench='^BenchmarkSimSearch$$' -benchtime=2s -benchmem ./cmd/fsepuglia/
	$(GO) test -run='^$$' -bench=. -benchmem ./adapter/wssec/ ./adapter/docmeta/ ./adapter/pdfcda/ ./adapter/cda/ ./adapter/sim/store/ ./adapter/transport/ ./adapter/outbox/ ./generated/wiretest/
