/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * iommufd: the /dev/iommu userspace interface.
 *
 * Binary-compatible with the iommufd uAPI of upstream Linux: the ioctl
 * numbers, structure layouts, flag values and errno meanings are the same.
 */
#ifndef _UAPI_IOMMUFD_H
#define _UAPI_IOMMUFD_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define IOMMUFD_TYPE (';')

/**
 * DOC: How an iommufd ioctl is shaped
 *
 * Every ioctl takes a pointer to a structure whose first __u32 is the size
 * userspace believes the structure has. The kernel reads that many bytes:
 *
 *  - a size below the last member the kernel needs fails with EINVAL;
 *  - bytes past the end of the structure the kernel knows must be zero,
 *    otherwise the call fails with E2BIG, so an older kernel never silently
 *    ignores a newer request;
 *  - members the kernel writes back are copied for at most the given size.
 *
 * Errno values mean the same thing for every ioctl:
 *
 *  - ENOTTY: this ioctl number is not implemented;
 *  - E2BIG: the structure has non-zero bytes the kernel does not know;
 *  - EOPNOTSUPP: a flag or option value is not known to the kernel;
 *  - EINVAL: the request is understood but a value in it is not valid;
 *  - ENOENT: an object ID or an IOVA range does not exist;
 *  - ENOMEM: out of memory (or over the locked memory limit);
 *  - EOVERFLOW: an address computation overflows.
 *
 * Individual ioctls document further errno values.
 */
enum {
	IOMMUFD_CMD_BASE = 0x80,
	IOMMUFD_CMD_DESTROY = IOMMUFD_CMD_BASE,
	IOMMUFD_CMD_IOAS_ALLOC = 0x81,
};

/**
 * struct iommu_destroy - ioctl(IOMMU_DESTROY)
 * @size: sizeof(struct iommu_destroy)
 * @id: the ID of the object to destroy, of any type
 *
 * Removes an object from the iommufd. Fails with EBUSY while another object
 * or an ioctl in progress still uses it, and with ENOENT when @id names
 * nothing.
 */
struct iommu_destroy {
	__u32 size;
	__u32 id;
};

#define IOMMU_DESTROY _IO(IOMMUFD_TYPE, IOMMUFD_CMD_DESTROY)

/**
 * struct iommu_ioas_alloc - ioctl(IOMMU_IOAS_ALLOC)
 * @size: sizeof(struct iommu_ioas_alloc)
 * @flags: must be 0
 * @out_ioas_id: the ID of the new IOAS
 *
 * Creates an IO address space (IOAS): a set of mappings from IO virtual
 * addresses (IOVA) to pinned user memory, which devices attached to it, or
 * to page tables built from it, may reach by DMA. A new IOAS maps nothing.
 */
struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};

#define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOC)

#endif
