# The VT-d machine again, with snoop control: upstream's selftests
# (conformance/*), vfio_iommu on a VT-d whose domains can enforce cache
# coherency (an iommufd-served container must answer VFIO_DMA_CC_IOMMU with
# 1, the debugfs view say coherent=yes and KVM count the DMA as coherent,
# as for type1 on the same device; the test machine, without snoop
# control, answers 0), and the harness self-test at the end of the run
# (harness.inject=1). One vCPU: two machines of 2 vCPUs on the 2 host CPUs
# waste time spinning on each other's IPIs. The vfio_iommu machines ride
# here and not in a boot of their own: a boot and kmemleak's scans cost a
# minute of the make test budget.
. "$MACHINES/test.sh"
iommu=(-device intel-iommu,intremap=on,snoop-control=on)
smp=1
suites='selftests/vfio_iommu,conformance/*'
kunit=none
inject=1
