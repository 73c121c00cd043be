# No IOMMU at all, with VFIO's unsafe no-IOMMU mode on, as DPDK runs on
# such machines: vfio-pci gives the edu a group /dev/vfio/noiommu-N, and
# vfio_noiommu drives it through VFIO's container and through
# /dev/vfio/vfio served by iommufd, DMA at physical addresses included;
# vfio_dpdk runs DPDK's testpmd on two NICs the same two ways.
kernel=x86
qemu=qemu-system-x86_64
machine=q35
iommu=()
devices=(
	-device edu,bus=pcie.0,addr=0x5
	# DPDK's two ports (selftests/vfio_dpdk), as on the test machine.
	-netdev hubport,id=nic0,hubid=0 -device e1000e,netdev=nic0,bus=pcie.0,addr=0x9,romfile=
	-netdev hubport,id=nic1,hubid=0 -device e1000e,netdev=nic1,bus=pcie.0,addr=0xa,romfile=
)
# DPDK's 96 MiB of huge pages and its libraries in the initramfs.
mem=512M
smp=1
append="vfio.enable_unsafe_noiommu_mode=1"
suites=selftests/vfio_noiommu,selftests/vfio_dpdk
kunit=none
