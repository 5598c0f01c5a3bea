# make lambda   builds build/bootstrap.zip for AWS Lambda (provided.al2023).
#               ARCH=arm64 (default, Graviton) or ARCH=amd64 (x86_64).
# make build    builds ./trackless for this machine.
# make test     runs the CI script (.ci/run).

ARCH    ?= arm64
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/trackless/trackless/internal/cli.Version=$(VERSION)

.PHONY: lambda build test clean

lambda:
	mkdir -p build
	CGO_ENABLED=0 GOOS=linux GOARCH=$(ARCH) go build -tags lambda.norpc -trimpath -ldflags "$(LDFLAGS)" -o build/bootstrap ./cmd/trackless
	go run ./tools/lambdazip -o build/bootstrap.zip build/bootstrap
	@ls -l build/bootstrap.zip

build:
	go build -trimpath -ldflags "$(LDFLAGS)" -o trackless ./cmd/trackless

test:
	bash .ci/run

clean:
	rm -rf build trackless
