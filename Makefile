# Keel: `make run` builds everything and boots examples/keel.yml under qemu;
# `make test` runs every test (unit, golden, registry and qemu integration tests);
# `make bench` runs the boot benchmark.

GO        ?= go
ARCH      ?= amd64
OUT       ?= out
KEEL      := $(OUT)/bin/keel
export KEEL_CACHE ?= $(HOME)/.cache/keel
STATICCHECK_VERSION ?= v0.8.2

ARCHES    := amd64 arm64 s390x

# Debian packages a build and test machine needs: qemu and firmware for the three arches, the
# kernel source and what building it takes, cross compilers and the targets' libseccomp for
# runc, and the tools the tests use.
DEB_PACKAGES := qemu-system-x86 qemu-system-arm qemu-system-misc qemu-utils ovmf qemu-efi-aarch64 \
	linux-source-6.12 make gcc flex bison bc libelf-dev libssl-dev kmod xz-utils \
	gcc-aarch64-linux-gnu gcc-s390x-linux-gnu pkg-config \
	libseccomp-dev libseccomp-dev:arm64 libseccomp-dev:s390x \
	e2fsprogs cpio zstd syslinux mtools squashfs-tools
FOREIGN_ARCHES := arm64 s390x
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

PACKAGES := init services/getty onboot/sysctl integration/checker \
	onboot/dhcpcd metadata onboot/format onboot/mount onboot/extend onboot/swap onboot/dm-crypt \
	services/acpid services/ntpd services/ca-certificates services/sshd

.PHONY: all deps keel packages kernel kernels all-arches image run test unit integration vet staticcheck bench clean

all: image

deps:
	@for a in $(FOREIGN_ARCHES); do dpkg --print-foreign-architectures | grep -qx $$a || $(SUDO) dpkg --add-architecture $$a; done
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

keel:
	$(GO) build -o $(KEEL) ./build/keel

# The tuned kernel (kernel-config/) for ARCH, built from Debian's linux-source-6.12 and cached
# in $(KEEL_CACHE)/kernel by the hash of its inputs; stored as keel/kernel:dev.
kernel: deps keel
	$(KEEL) kernel build --arch $(ARCH)

# The kernels of every arch (cached; a cold build is minutes per arch).
kernels: deps keel
	@for a in $(ARCHES); do $(KEEL) kernel build --arch $$a || exit 1; done

# Every kernel and package for every arch: `make all-arches`, then `make run ARCH=arm64`.
all-arches: deps keel
	@for a in $(ARCHES); do $(MAKE) --no-print-directory packages ARCH=$$a || exit 1; done

packages: deps keel kernel
	@for p in $(PACKAGES); do $(KEEL) pkg build --arch $(ARCH) $$p || exit 1; done

# amd64 images land in out/, others in out/ARCH/.
IMAGE_DIR := $(if $(filter amd64,$(ARCH)),$(OUT),$(OUT)/$(ARCH))

# Both roots: `make run` boots the squashfs one, which starts sooner and needs less memory
# than the initramfs (docs/performance.md); the initramfs is for boot loaders and PXE.
image: packages
	$(KEEL) build --arch $(ARCH) --format kernel+initrd,kernel+squashfs -o $(IMAGE_DIR) examples/keel.yml

run: image
	$(KEEL) run qemu --arch $(ARCH) --squashfs $(IMAGE_DIR)/keel

# Boot benchmark (docs/performance.md): bench/out/bench.md, bench.json, timeline.svg.
BENCH_RUNS ?= 5
BENCH_COMPRESS ?= zstd
BENCH_CPUS ?= 1,2
bench: packages
	$(KEEL) bench --arch $(ARCH) --runs $(BENCH_RUNS) --cpus $(BENCH_CPUS) --compress $(BENCH_COMPRESS) --out bench/out examples/keel.yml

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

staticcheck:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

unit:
	$(GO) test $$($(GO) list ./... | grep -v /integration$$)

integration: packages
	$(GO) test -v -count=1 -timeout 40m ./integration/

# The kernels are built first, outside go test's timeout; the tests then find them cached.
# The guests boot after the unit tests, not beside them: an emulated guest starved of CPU
# trips timeouts a real machine never sees.
test: deps vet staticcheck kernels
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /integration$$)
	KEEL_INTEGRATION=require $(GO) test -count=1 -timeout 50m ./integration/

clean:
	rm -rf $(OUT)
