# No IOMMU at all, with VFIO's unsafe no-IOMMU mode on, as DPDK runs on
# such machines: vfio-pci gives the edu a group /dev/vfio/noiommu-N, and
# vfio_noiommu drives it through VFIO's container and through
# /dev/vfio/vfio served by iommufd, DMA at physical addresses included.
kernel=x86
qemu=qemu-system-x86_64
machine=q35
iommu=()
devices=(-device edu,bus=pcie.0,addr=0x5)
mem=384M
smp=1
append="vfio.enable_unsafe_noiommu_mode=1"
suites=selftests/vfio_noiommu
kunit=none
