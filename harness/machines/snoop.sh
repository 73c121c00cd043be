# VT-d with snoop control: its domains can enforce cache coherency, so an
# iommufd-served container must answer VFIO_DMA_CC_IOMMU with 1 and the
# debugfs view say coherent=yes, as type1 does on the same device (the
# plain VT-d machine, test, answers 0 and says coherent=no).
kernel=x86
qemu=qemu-system-x86_64
machine=q35
iommu=(-device intel-iommu,intremap=on,snoop-control=on)
devices=(-device edu,bus=pcie.0,addr=0x5)
mem=384M
smp=1
append="intel_iommu=on harness.iova_last=0x7fffffffff"
suites=selftests/vfio_iommu
kunit=none
