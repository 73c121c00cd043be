# The VT-d machine again, for upstream's selftests (conformance/*) and the
# harness self-test at the end of the run (harness.inject=1). One vCPU:
# two machines of 2 vCPUs on the 2 host CPUs waste time spinning on each
# other's IPIs.
. "$MACHINES/test.sh"
smp=1
suites='conformance/*'
kunit=none
inject=1
