# arm64: QEMU's virt machine with an SMMUv3 in front of PCI and MSIs
# through the GICv3 ITS, whose doorbell the SMMU translates: a domain needs
# an MSI cookie (the IOMMU_RESV_SW_MSI window at 0x8000000) for the edu's
# MSI to arrive. The kernel is cross-built (harness/config/arm64.config).
# The SMMU logs its events at KERN_INFO: the console shows them
# (harness.loglevel=7) so that the judge sees an unexpected one.
kernel=arm64
qemu=qemu-system-aarch64
machine=virt,gic-version=3,iommu=smmuv3
iommu=()
devices=(-device edu,addr=0x5)
mem=256M
smp=1
append="harness.loglevel=7 harness.iova_last=0x7fffffffff"
suites=selftests/vfio_iommu
kunit=none
