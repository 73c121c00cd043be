# SPDX-License-Identifier: GPL-2.0
# The front door. 'make run' shows the demo, 'make test' runs every tier.
# See README.md.

H := harness

.PHONY: all run test shell tree kernel guest patches clean deps

all: run

deps:
	@bash $(H)/deps.sh

tree: deps
	@bash $(H)/tree.sh

kernel: tree
	@bash $(H)/kernel.sh

guest: kernel
	@bash $(H)/guest.sh

run: guest
	@bash $(H)/vm.sh demo 900

test: guest
	@bash $(H)/test.sh

shell: guest
	@bash $(H)/vm.sh shell

# After committing edits to base files in build/linux: regenerate patches/.
patches:
	@bash $(H)/export-patches.sh

clean:
	rm -rf build
