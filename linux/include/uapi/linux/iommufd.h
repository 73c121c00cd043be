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
	IOMMUFD_CMD_IOAS_ALLOW_IOVAS = 0x82,
	IOMMUFD_CMD_IOAS_COPY = 0x83,
	IOMMUFD_CMD_IOAS_IOVA_RANGES = 0x84,
	IOMMUFD_CMD_IOAS_MAP = 0x85,
	IOMMUFD_CMD_IOAS_UNMAP = 0x86,
	IOMMUFD_CMD_OPTION = 0x87,
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

/**
 * struct iommu_iova_range - an inclusive range of IOVA
 * @start: the first IOVA
 * @last: the last IOVA
 */
struct iommu_iova_range {
	__aligned_u64 start;
	__aligned_u64 last;
};

/**
 * struct iommu_ioas_iova_ranges - ioctl(IOMMU_IOAS_IOVA_RANGES)
 * @size: sizeof(struct iommu_ioas_iova_ranges)
 * @ioas_id: the IOAS to query
 * @num_iovas: in: how many struct iommu_iova_range fit at @allowed_iovas;
 *	out: how many ranges there are
 * @__reserved: must be 0
 * @allowed_iovas: user pointer to an array of struct iommu_iova_range
 * @out_iova_alignment: every IOVA and length given to IOMMU_IOAS_MAP and
 *	IOMMU_IOAS_COPY must be a multiple of this
 *
 * Reports the IOVA ranges that may be mapped, in increasing order: the
 * whole IOVA space minus what the attached devices and page tables reserve
 * (such as MSI windows or what lies outside an IOMMU's aperture). The
 * ranges can shrink when a device is attached and grow when it leaves.
 *
 * If @num_iovas was too small, as many ranges as fit are written, @num_iovas
 * is set to the number needed and the call fails with EMSGSIZE, so that
 * userspace can retry with a larger array.
 */
struct iommu_ioas_iova_ranges {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
	__aligned_u64 out_iova_alignment;
};

#define IOMMU_IOAS_IOVA_RANGES _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_IOVA_RANGES)

/**
 * struct iommu_ioas_allow_iovas - ioctl(IOMMU_IOAS_ALLOW_IOVAS)
 * @size: sizeof(struct iommu_ioas_allow_iovas)
 * @ioas_id: the IOAS to change
 * @num_iovas: how many struct iommu_iova_range are at @allowed_iovas
 * @__reserved: must be 0
 * @allowed_iovas: user pointer to an array of struct iommu_iova_range
 *
 * Restricts the IOVAs the kernel chooses for mappings without
 * IOMMU_IOAS_MAP_FIXED_IOVA to the given ranges, replacing any earlier
 * list; zero ranges lift the restriction. Fixed IOVAs are not affected.
 *
 * Ranges must not overlap each other (EINVAL), must have start < last
 * (EINVAL), and must not intersect a reserved range (EADDRINUSE); while a
 * range is allowed, attaching something that would reserve part of it
 * fails.
 */
struct iommu_ioas_allow_iovas {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
};

#define IOMMU_IOAS_ALLOW_IOVAS _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOW_IOVAS)

/**
 * enum iommufd_ioas_map_flags - flags of IOMMU_IOAS_MAP and IOMMU_IOAS_COPY
 * @IOMMU_IOAS_MAP_FIXED_IOVA: map at the given IOVA instead of one the
 *	kernel chooses
 * @IOMMU_IOAS_MAP_WRITEABLE: devices may write to the memory
 * @IOMMU_IOAS_MAP_READABLE: devices may read the memory
 */
enum iommufd_ioas_map_flags {
	IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0,
	IOMMU_IOAS_MAP_WRITEABLE = 1 << 1,
	IOMMU_IOAS_MAP_READABLE = 1 << 2,
};

/**
 * struct iommu_ioas_map - ioctl(IOMMU_IOAS_MAP)
 * @size: sizeof(struct iommu_ioas_map)
 * @flags: a combination of enum iommufd_ioas_map_flags; at least one of
 *	READABLE and WRITEABLE
 * @ioas_id: the IOAS to map into
 * @__reserved: must be 0
 * @user_va: the start of the user memory to map
 * @length: its length in bytes
 * @iova: with IOMMU_IOAS_MAP_FIXED_IOVA, the IOVA to map at; otherwise set
 *	to the IOVA the kernel chose
 *
 * Maps user memory at an IOVA in the IOAS and in every page table built
 * from it. The memory is pinned while any device page table or access
 * needs it, and the pinned pages are charged once against RLIMIT_MEMLOCK
 * however many IOASes, page tables and accesses use them.
 *
 * A kernel-chosen IOVA is aligned like @user_va up to the size of the
 * mapping, so that huge pages can be mapped as huge IO pages.
 *
 * Errors: EEXIST if a fixed IOVA range is already partly mapped, EINVAL if
 * it is reserved or misaligned (see IOMMU_IOAS_IOVA_RANGES), EOVERFLOW if
 * @iova + @length wraps, ENOSPC if no IOVA range is free, EPERM if writable
 * mapping of read-only memory is asked for, ENOMEM also when the pages
 * would exceed RLIMIT_MEMLOCK.
 */
struct iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};

#define IOMMU_IOAS_MAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP)

/**
 * struct iommu_ioas_copy - ioctl(IOMMU_IOAS_COPY)
 * @size: sizeof(struct iommu_ioas_copy)
 * @flags: a combination of enum iommufd_ioas_map_flags
 * @dst_ioas_id: the IOAS to map into
 * @src_ioas_id: the IOAS whose mappings are copied (may be the same)
 * @length: the length of the range to copy
 * @dst_iova: with IOMMU_IOAS_MAP_FIXED_IOVA, the IOVA to map at; otherwise
 *	set to the IOVA the kernel chose
 * @src_iova: the start of the range to copy; it must be mapped entirely
 *
 * Maps the memory already mapped at [@src_iova, @src_iova + @length) in the
 * source IOAS at a new IOVA of the destination, as if IOMMU_IOAS_MAP were
 * called with the same user memory, but without looking the memory up
 * again: the pages stay pinned and charged once. ENOENT if part of the
 * source range is not mapped; otherwise the errors of IOMMU_IOAS_MAP.
 */
struct iommu_ioas_copy {
	__u32 size;
	__u32 flags;
	__u32 dst_ioas_id;
	__u32 src_ioas_id;
	__aligned_u64 length;
	__aligned_u64 dst_iova;
	__aligned_u64 src_iova;
};

#define IOMMU_IOAS_COPY _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_COPY)

/**
 * struct iommu_ioas_unmap - ioctl(IOMMU_IOAS_UNMAP)
 * @size: sizeof(struct iommu_ioas_unmap)
 * @ioas_id: the IOAS to unmap from
 * @iova: the start of the range to unmap
 * @length: its length; set to the number of bytes unmapped
 *
 * Unmaps every mapping inside [@iova, @iova + @length); @iova 0 with
 * @length UINT64_MAX unmaps everything, and succeeds on an empty IOAS.
 * Mappings are never cut: if one starts or ends strictly inside the range
 * the call fails with ENOENT and unmaps nothing; so does a range holding no
 * mapping at all.
 */
struct iommu_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__aligned_u64 iova;
	__aligned_u64 length;
};

#define IOMMU_IOAS_UNMAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_UNMAP)

/**
 * enum iommufd_option - the options of IOMMU_OPTION
 * @IOMMU_OPTION_RLIMIT_MODE: 0 charges pinned memory to the user (the
 *	default), 1 to the process's mm like VFIO type1 does. Setting it
 *	needs CAP_SYS_RESOURCE and a context that holds no object yet
 *	(EBUSY otherwise). @object_id must be 0.
 * @IOMMU_OPTION_HUGE_PAGES: 1 (the default) lets an IOAS map IO pages
 *	larger than CPU pages; 0 maps CPU pages only and requires every
 *	mapping to be CPU page aligned. @object_id is the IOAS.
 */
enum iommufd_option {
	IOMMU_OPTION_RLIMIT_MODE = 0,
	IOMMU_OPTION_HUGE_PAGES = 1,
};

/**
 * enum iommufd_option_ops - what IOMMU_OPTION does
 * @IOMMU_OPTION_OP_SET: set the option to @val64
 * @IOMMU_OPTION_OP_GET: return the option's value in @val64
 */
enum iommufd_option_ops {
	IOMMU_OPTION_OP_SET = 0,
	IOMMU_OPTION_OP_GET = 1,
};

/**
 * struct iommu_option - ioctl(IOMMU_OPTION)
 * @size: sizeof(struct iommu_option)
 * @option_id: an enum iommufd_option
 * @op: an enum iommufd_option_ops
 * @__reserved: must be 0
 * @object_id: the object the option applies to, or 0 for the context
 * @val64: the value to set, or the value read
 *
 * Reads or changes an option of the context or of one of its objects.
 * EOPNOTSUPP for an unknown option or operation, ENOENT if @object_id is
 * not an object the option applies to, EINVAL for a value out of range.
 */
struct iommu_option {
	__u32 size;
	__u32 option_id;
	__u16 op;
	__u16 __reserved;
	__u32 object_id;
	__aligned_u64 val64;
};

#define IOMMU_OPTION _IO(IOMMUFD_TYPE, IOMMUFD_CMD_OPTION)

#endif
