# The VT-d machine, the default of make check, make run and make shell:
# interrupt remapping on, one edu alone in its IOMMU group, a group of
# two edus and a virtio-rng behind a PCIe-to-PCI bridge, and two e1000e
# NICs on one hub for DPDK. make test runs KUnit at its boot and our
# selftests.
kernel=x86
qemu=qemu-system-x86_64
machine=q35
# The IOMMU comes first: it must exist before the devices it translates.
iommu=(-device intel-iommu,intremap=on)
devices=(
	# A standalone edu: a single-device group.
	-device edu,bus=pcie.0,addr=0x5
	# Two edus and a virtio-rng behind a PCIe-to-PCI bridge: requests from
	# behind a conventional PCI bridge all look alike, so one group.
	-device pcie-root-port,id=rp1,bus=pcie.0,addr=0x6,chassis=1
	-device pcie-pci-bridge,id=br1,bus=rp1
	-device edu,bus=br1,addr=0x1
	-device edu,bus=br1,addr=0x2
	-device virtio-rng-pci,bus=br1,addr=0x3
	# Two e1000e NICs on one hub, each in a group of its own, for DPDK
	# (selftests/vfio_dpdk): what one sends, the other receives. No
	# option ROM: SeaBIOS would run iPXE's at every boot.
	-netdev hubport,id=nic0,hubid=0 -device e1000e,netdev=nic0,bus=pcie.0,addr=0x9,romfile=
	-netdev hubport,id=nic1,hubid=0 -device e1000e,netdev=nic1,bus=pcie.0,addr=0xa,romfile=
)
# 1 GiB is plenty, and kmemleak's scans at the end take time in proportion
# to memory (about 24 s per GiB and scan under TCG).
mem=1G
smp=2
# QEMU 7.2's VT-d has 39-bit input addresses (aw-bits).
append="intel_iommu=on harness.iova_last=0x7fffffffff"
# vfio_iommu runs on test-conformance's VT-d, with snoop control; here
# vfio_edu checks the VT-d without it.
suites='selftests/iommufd*,selftests/vfio_dpdk,selftests/vfio_edu,selftests/vfio_mdev,selftests/vfio_qemu'
kunit='*'
# The harness self-test's reports at the end, as on test-conformance.
inject=1
