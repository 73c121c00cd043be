# virtio-iommu, placed by ACPI's VIOT table: no interrupt remapping, so
# binding a device must fail with EPERM until iommufd's (and type1's)
# allow_unsafe_interrupts parameter is set; vfio_iommu checks the refusal
# first, then sets both parameters and runs the rest.
kernel=x86
qemu=qemu-system-x86_64
machine=q35
iommu=(-device virtio-iommu-pci,addr=0x4)
devices=(-device edu,bus=pcie.0,addr=0x5)
mem=384M
smp=1
append="harness.iova_last=0xffffffffffffffff"
suites=selftests/vfio_iommu
kunit=none
