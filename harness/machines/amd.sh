# AMD-Vi with interrupt remapping: MSIs are isolated by the IOMMU's
# interrupt remapping table, DMA faults are logged as IO_PAGE_FAULT events.
kernel=x86
qemu=qemu-system-x86_64
machine=q35
iommu=(-device amd-iommu,intremap=on)
devices=(-device edu,bus=pcie.0,addr=0x5)
mem=384M
smp=1
append="harness.iova_last=0xffffffffffffffff"
suites=selftests/vfio_iommu
kunit=none
