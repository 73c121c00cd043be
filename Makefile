# SPDX-License-Identifier: GPL-2.0
# The front door. 'make run' shows the demo, 'make test' runs every tier.
# See README.md.

H := harness

# One clock for every step of one make invocation.
export START_TIME := $(shell date +%s)

.PHONY: fuzz all run test check conformance shell tree kernel guest patches clean deps bench docs \
	series check-series kernel-arm64 guest-arm64 coverage

all: run

deps:
	@bash $(H)/deps.sh

tree: deps
	@bash $(H)/tree.sh

kernel: tree
	@bash $(H)/kernel.sh x86

guest: kernel
	@bash $(H)/guest.sh x86

# The arm64 machine's kernel and program (make test builds them itself,
# beside the x86 machines).
kernel-arm64: tree
	@bash $(H)/kernel.sh arm64

guest-arm64: kernel-arm64
	@bash $(H)/guest.sh arm64

run: guest
	@bash $(H)/vm.sh demo 900

# MACHINE=amd|virtio|arm64|test-conformance checks another machine
# (harness/machines/), make shell boots it.
export MACHINE
GUEST_FOR = $(if $(filter arm64,$(MACHINE)),guest-arm64,guest)

check: $(GUEST_FOR)
	@bash $(H)/check.sh

test: guest
	@bash $(H)/test.sh

# The fuzzer alone, longer than make test's fixed-seed pass:
# make fuzz SEED=7 OPS=1000000
SEED ?= 1
OPS ?= 1000000
fuzz: guest
	@ONLY=selftests/iommufd_fuzz KUNIT=none FUZZ_SEED=$(SEED) FUZZ_OPS=$(OPS) \
		VM_LIMIT=$$((900 + $(OPS) / 200)) \
		bash $(H)/check.sh

# Upstream's iommufd selftests alone, judged against their list of cases
# not implemented yet, and the console as for any run ('make test' runs
# and judges them too).
conformance: guest
	@ONLY='conformance/*' bash $(H)/check.sh

# VFIO type1 against iommufd on a non-debug kernel of its own (build/bench-obj):
# build/out/bench.md and bench.png. BENCH_REPS repetitions of each measurement;
# BENCH_ONLY=churn,mock runs only those workloads; PROFILE=<workload> takes
# a perf profile of each backend instead.
BENCH_REPS ?= 5
bench: tree
	@BENCH_REPS=$(BENCH_REPS) BENCH_ONLY=$(BENCH_ONLY) PROFILE=$(PROFILE) \
		bash $(H)/bench.sh

# Which lines of the series the suites run: the x86 machines of make test
# again, with a kernel that counts (build/out/coverage/index.html and a
# summary with goals; see harness/coverage.sh). Not part of make test.
coverage: tree
	@bash $(H)/coverage.sh

shell: $(GUEST_FOR)
	@bash $(H)/vm.sh shell

# The documentation through Sphinx, as 'make test' checks it.
docs: tree
	@bash $(H)/docs.sh

# The series for review: patches/export applied in order, written to
# build/series/ with a cover letter. check-series applies it to a pristine
# base and builds every step (IOMMUFD=y), then the end with IOMMUFD=m and
# =n, and runs checkpatch on every patch; it is not part of 'make test'.
series: tree
	@bash $(H)/series.sh export

check-series: series
	@bash $(H)/series.sh check

# After committing edits to base files in build/linux: regenerate patches/.
patches:
	@bash $(H)/export-patches.sh

clean:
	rm -rf build
