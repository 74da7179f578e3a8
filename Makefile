# Keel: `make run` builds everything and boots examples/keel.yml under qemu;
# `make test` runs every test (unit, golden, registry and qemu integration tests);
# `make bench` runs the boot benchmark.

GO        ?= go
ARCH      ?= amd64
OUT       ?= out
KEEL      := $(OUT)/bin/keel
export KEEL_CACHE ?= $(HOME)/.cache/keel
STATICCHECK_VERSION ?= v0.8.2

# Debian packages a build and test machine needs.
DEB_PACKAGES := qemu-system-x86 qemu-utils linux-image-amd64 libseccomp-dev busybox-static \
	e2fsprogs cpio zstd pkg-config gcc
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

PACKAGES := init services/getty onboot/sysctl integration/checker

.PHONY: all deps keel packages kernel image run test unit integration vet staticcheck bench clean

all: image

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

keel:
	$(GO) build -o $(KEEL) ./build/keel

kernel: deps keel
	build/debian-kernel.sh build/kernel-debian/out
	$(KEEL) pkg build --arch $(ARCH) build/kernel-debian

packages: deps keel kernel
	@for p in $(PACKAGES); do $(KEEL) pkg build --arch $(ARCH) $$p || exit 1; done

image: packages
	$(KEEL) build --arch $(ARCH) -o $(OUT) examples/keel.yml

run: image
	$(KEEL) run qemu --arch $(ARCH) $(OUT)/keel

# Boot benchmark (docs/performance.md): bench/out/bench.md, bench.json, timeline.svg.
BENCH_RUNS ?= 5
bench: packages
	$(KEEL) bench --arch $(ARCH) --runs $(BENCH_RUNS) --out bench/out examples/keel.yml

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

staticcheck:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

unit:
	$(GO) test $$($(GO) list ./... | grep -v /integration$$)

integration: packages
	$(GO) test -v -count=1 -timeout 40m ./integration/

test: deps vet staticcheck
	KEEL_INTEGRATION=require $(GO) test -count=1 -timeout 50m ./...

clean:
	rm -rf $(OUT) build/kernel-debian/out
