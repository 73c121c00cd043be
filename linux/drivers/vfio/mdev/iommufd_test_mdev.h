/* SPDX-License-Identifier: GPL-2.0 */
/*
 * IOMMU_TEST_MDEV_CMD: the device ioctl of the test mdev driver
 * (iommufd_test_mdev.c), built with CONFIG_IOMMUFD_TEST.
 *
 * Shared by the kernel and the selftests. The driver stands for an emulated
 * device such as a mediated GPU: it reaches user memory only through
 * vfio_pin_pages(), vfio_unpin_pages() and vfio_dma_rw(), whichever IOMMU
 * backend (a type1 container or an iommufd) the device is opened with.
 */
#ifndef _UAPI_IOMMUFD_TEST_MDEV_H
#define _UAPI_IOMMUFD_TEST_MDEV_H

#include <linux/types.h>
#include <linux/vfio.h>

/* The mdev parent and type that userspace creates test devices with. */
#define IOMMU_TEST_MDEV_PARENT	"iommufd_test_mdev"
#define IOMMU_TEST_MDEV_TYPE	"iommufd_test_mdev-pin"
/* Pinned ranges a device holds at most. */
#define IOMMU_TEST_MDEV_MAX_PINS	16

enum {
	/* Pin [iova, iova + length) with vfio_pin_pages(). */
	IOMMU_TEST_MDEV_OP_PIN = 1,
	/* Unpin the pinned range starting at iova. */
	IOMMU_TEST_MDEV_OP_UNPIN = 2,
	/*
	 * Copy between the user buffer at uptr and [iova, iova + length),
	 * through the pinned pages of one range.
	 */
	IOMMU_TEST_MDEV_OP_PINNED_RW = 3,
	/* The same copy through vfio_dma_rw(), with nothing pinned. */
	IOMMU_TEST_MDEV_OP_DMA_RW = 4,
	/* Only report the counters. */
	IOMMU_TEST_MDEV_OP_STATUS = 5,
};

enum {
	/* IOMMU_TEST_MDEV_OP_PIN: pin for writing. *_RW: write to the IOVA. */
	IOMMU_TEST_MDEV_WRITE = 1 << 0,
	/*
	 * IOMMU_TEST_MDEV_OP_DMA_RW: call vfio_dma_rw() from a kernel thread
	 * without an mm (a workqueue's), as a mediated GPU's scheduler does.
	 */
	IOMMU_TEST_MDEV_KTHREAD = 1 << 1,
	/*
	 * IOMMU_TEST_MDEV_OP_PIN: keep the pin when the device is closed,
	 * until dma_unmap() asks for it, as the detach of the device's
	 * access from its IOAS does, with the device still open. Bound to
	 * an iommufd only: type1 asks for nothing after the close (EINVAL).
	 */
	IOMMU_TEST_MDEV_KEEP = 1 << 2,
};

/**
 * struct iommu_test_mdev_cmd - IOMMU_TEST_MDEV_CMD
 * @size: sizeof(struct iommu_test_mdev_cmd)
 * @op: IOMMU_TEST_MDEV_OP_*
 * @flags: IOMMU_TEST_MDEV_WRITE, IOMMU_TEST_MDEV_KTHREAD (DMA_RW only),
 *	IOMMU_TEST_MDEV_KEEP (PIN only), or 0
 * @out_pins: set to the number of ranges pinned after the operation
 * @iova: the IOVA
 * @length: the length in bytes; page multiples for PIN
 * @uptr: the user buffer of the *_RW operations
 * @out_unmaps: set to the number of ranges the driver unpinned because its
 *	dma_unmap() callback asked it to, since the device was opened
 * @out_open_rw: set to what vfio_dma_rw() of one byte at IOVA 0 returned
 *	when the device was last opened (a negative errno, or 0): VFIO must
 *	see the device open while its driver opens it
 * @out_unmap_calls: set to the number of dma_unmap() calls since the
 *	device was opened, whether or not they unpinned anything
 * @__reserved: must be 0
 * @out_unmap_iova: set to the IOVA of the last such call
 * @out_unmap_length: set to the length of the last such call
 *
 * Return: 0 or the errno of the VFIO call, -EINVAL for a bad op, flags,
 * size or range, -ENOSPC when IOMMU_TEST_MDEV_MAX_PINS ranges are pinned,
 * -ENOENT for no pinned range at @iova (UNPIN) or around the range
 * (PINNED_RW).
 */
struct iommu_test_mdev_cmd {
	__u32 size;
	__u32 op;
	__u32 flags;
	__u32 out_pins;
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 uptr;
	__u32 out_unmaps;
	__s32 out_open_rw;
	__u32 out_unmap_calls;
	__u32 __reserved;
	__aligned_u64 out_unmap_iova;
	__aligned_u64 out_unmap_length;
};

#define IOMMU_TEST_MDEV_CMD _IO(VFIO_TYPE, VFIO_BASE + 64)

#endif
