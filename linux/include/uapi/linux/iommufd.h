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
	IOMMUFD_CMD_VFIO_IOAS = 0x88,
	IOMMUFD_CMD_HWPT_ALLOC = 0x89,
	IOMMUFD_CMD_GET_HW_INFO = 0x8a,
	IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING = 0x8b,
	IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP = 0x8c,
	/* 0x8d and 0x8e are taken upstream by commands this kernel lacks. */
	IOMMUFD_CMD_IOAS_MAP_FILE = 0x8f,
	/* So are 0x90 and 0x91. */
	IOMMUFD_CMD_IOAS_CHANGE_PROCESS = 0x92,
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
 * @iova + @length wraps or, for a kernel-chosen IOVA, @length is half the
 * IOVA space or more, ENOSPC if no IOVA range is free, EPERM if writable
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
 * struct iommu_ioas_map_file - ioctl(IOMMU_IOAS_MAP_FILE)
 * @size: sizeof(struct iommu_ioas_map_file)
 * @flags: as for IOMMU_IOAS_MAP
 * @ioas_id: the IOAS to map into
 * @fd: a file descriptor of a memfd, or of any other shmem (tmpfs) or
 *	hugetlbfs file
 * @start: the offset in the file of the first byte to map
 * @length: how many bytes to map
 * @iova: as for IOMMU_IOAS_MAP
 *
 * Maps part of a file at an IOVA, as IOMMU_IOAS_MAP maps user memory, with
 * the same rules for the IOVA and the same accounting. The pages come from
 * the file's page cache when they are pinned, not through a mapping in the
 * caller's address space; holes of the file are filled as a shared mapping
 * of it would fill them. A mapping of a file outlives the caller's own
 * mappings of it and the caller itself, and only such mappings can move to
 * another process with IOMMU_IOAS_CHANGE_PROCESS.
 *
 * While a writable mapping exists the file cannot be sealed against writes.
 * Truncating the file or punching a hole in it does not unpin the pages a
 * device maps: the device keeps the pages it had, which the file no longer
 * holds (reads through the file see the new, zeroed pages).
 *
 * Errors: as for IOMMU_IOAS_MAP, and EBADF for a bad @fd, EINVAL for a
 * file that is not shmem or hugetlbfs or a range that ends past the end of
 * the file, EPERM for a writable mapping of a file not opened for writing
 * or sealed against writes, or a readable one of a file not opened for
 * reading, ENOMEM also for a hole of a hugetlbfs file that no free huge
 * page can fill.
 */
struct iommu_ioas_map_file {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__s32 fd;
	__aligned_u64 start;
	__aligned_u64 length;
	__aligned_u64 iova;
};

#define IOMMU_IOAS_MAP_FILE _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP_FILE)

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
 * mapping at all. (A call that waits for an access to unpin, and meanwhile
 * sees such a mapping appear, fails with ENOENT having unmapped part.)
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

/**
 * enum iommufd_vfio_ioas_op - what IOMMU_VFIO_IOAS does
 * @IOMMU_VFIO_IOAS_GET: report the compatibility IOAS; ENODEV if none
 * @IOMMU_VFIO_IOAS_SET: make @ioas_id the compatibility IOAS
 * @IOMMU_VFIO_IOAS_CLEAR: forget the compatibility IOAS (it stays)
 */
enum iommufd_vfio_ioas_op {
	IOMMU_VFIO_IOAS_GET = 0,
	IOMMU_VFIO_IOAS_SET = 1,
	IOMMU_VFIO_IOAS_CLEAR = 2,
};

/**
 * struct iommu_vfio_ioas - ioctl(IOMMU_VFIO_IOAS)
 * @size: sizeof(struct iommu_vfio_ioas)
 * @ioas_id: in for SET, out for GET: the compatibility IOAS
 * @op: an enum iommufd_vfio_ioas_op
 * @__reserved: zero
 *
 * The VFIO group interface has no way to name an IOAS, so a context has
 * one it uses for VFIO: VFIO_GROUP_SET_CONTAINER given this iommufd takes
 * it, creating an IOAS if none is set, and the group's devices are attached
 * to it when they are opened. Changing or clearing it afterwards does not
 * move them, and destroys nothing.
 */
struct iommu_vfio_ioas {
	__u32 size;
	__u32 ioas_id;
	__u16 op;
	__u16 __reserved;
};

#define IOMMU_VFIO_IOAS _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VFIO_IOAS)

/**
 * enum iommufd_hwpt_alloc_flags - flags of IOMMU_HWPT_ALLOC
 * @IOMMU_HWPT_ALLOC_NEST_PARENT: the page table may become the parent of
 *	nested page tables; EOPNOTSUPP unless the device's IOMMU driver can
 *	make one (in this kernel only the mock IOMMU of CONFIG_IOMMUFD_TEST
 *	can, and no nested page table can be made on it)
 * @IOMMU_HWPT_ALLOC_DIRTY_TRACKING: the page table can track which IOVAs
 *	devices wrote (see IOMMU_HWPT_SET_DIRTY_TRACKING); EOPNOTSUPP if the
 *	device's IOMMU cannot (IOMMU_HW_CAP_DIRTY_TRACKING is clear)
 * @IOMMU_HWPT_FAULT_ID_VALID: @fault_id is valid (not supported by this
 *	kernel: EOPNOTSUPP)
 */
enum iommufd_hwpt_alloc_flags {
	IOMMU_HWPT_ALLOC_NEST_PARENT = 1 << 0,
	IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1,
	IOMMU_HWPT_FAULT_ID_VALID = 1 << 2,
};

/**
 * enum iommu_hwpt_data_type - the driver-specific data of IOMMU_HWPT_ALLOC
 * @IOMMU_HWPT_DATA_NONE: none: a page table the kernel fills from an IOAS
 * @IOMMU_HWPT_DATA_VTD_S1: an Intel VT-d stage-1 table (not supported by
 *	this kernel)
 */
enum iommu_hwpt_data_type {
	IOMMU_HWPT_DATA_NONE = 0,
	IOMMU_HWPT_DATA_VTD_S1 = 1,
};

/**
 * struct iommu_hwpt_alloc - ioctl(IOMMU_HWPT_ALLOC)
 * @size: sizeof(struct iommu_hwpt_alloc)
 * @flags: enum iommufd_hwpt_alloc_flags
 * @dev_id: the device the page table is made for: it picks the IOMMU
 * @pt_id: the IOAS the page table mirrors
 * @out_hwpt_id: the ID of the new page table
 * @__reserved: must be 0
 * @data_type: enum iommu_hwpt_data_type; must be IOMMU_HWPT_DATA_NONE here
 * @data_len: the length of the data at @data_uptr; 0 for no data
 * @data_uptr: the driver-specific data
 * @fault_id: the fault queue, with IOMMU_HWPT_FAULT_ID_VALID
 * @__reserved2: must be 0
 *
 * Creates a page table mirroring an IOAS, as attaching a device to the
 * IOAS does, but as an object of its own: devices attach to it by ID and
 * it lives until IOMMU_DESTROY, which fails with EBUSY while a device is
 * attached. The checks, in the order this kernel makes them:
 *
 * - EOPNOTSUPP if @__reserved or @__reserved2 is not 0;
 * - EINVAL if @data_len is not 0 with IOMMU_HWPT_DATA_NONE, or 0 with any
 *   other @data_type;
 * - ENOENT if @dev_id is not a device;
 * - EINVAL if @pt_id names no object;
 * - EOPNOTSUPP if @pt_id is a page table (nesting is not supported);
 * - EINVAL if @pt_id is neither an IOAS nor a page table, or if @data_type
 *   is not IOMMU_HWPT_DATA_NONE (no driver data is supported);
 * - EOPNOTSUPP for IOMMU_HWPT_FAULT_ID_VALID or an unknown flag, for
 *   IOMMU_HWPT_ALLOC_DIRTY_TRACKING when the device's IOMMU cannot track,
 *   and for IOMMU_HWPT_ALLOC_NEST_PARENT when its driver cannot make a
 *   parent for nesting.
 *
 * A device whose IOMMU cannot track dirty IOVAs cannot attach to a page
 * table made with IOMMU_HWPT_ALLOC_DIRTY_TRACKING: EINVAL.
 */
struct iommu_hwpt_alloc {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pt_id;
	__u32 out_hwpt_id;
	__u32 __reserved;
	__u32 data_type;
	__u32 data_len;
	__aligned_u64 data_uptr;
	__u32 fault_id;
	__u32 __reserved2;
};

#define IOMMU_HWPT_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_ALLOC)

/**
 * enum iommu_hw_info_vtd_flags - flags of struct iommu_hw_info_vtd
 * @IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17: the IOMMU needs its caches
 *	flushed even for a read-only mapping change (erratum 772415)
 */
enum iommu_hw_info_vtd_flags {
	IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17 = 1 << 0,
};

/**
 * struct iommu_hw_info_vtd - what IOMMU_GET_HW_INFO reports for Intel VT-d
 * @flags: enum iommu_hw_info_vtd_flags
 * @__reserved: 0
 * @cap_reg: the IOMMU's capability register
 * @ecap_reg: the IOMMU's extended capability register
 */
struct iommu_hw_info_vtd {
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 cap_reg;
	__aligned_u64 ecap_reg;
};

/**
 * enum iommu_hw_info_type - the kind of data IOMMU_GET_HW_INFO returns
 * @IOMMU_HW_INFO_TYPE_NONE: the IOMMU driver reports nothing
 * @IOMMU_HW_INFO_TYPE_DEFAULT: as input: whatever the driver reports
 * @IOMMU_HW_INFO_TYPE_INTEL_VTD: struct iommu_hw_info_vtd
 */
enum iommu_hw_info_type {
	IOMMU_HW_INFO_TYPE_NONE = 0,
	IOMMU_HW_INFO_TYPE_DEFAULT = 0,
	IOMMU_HW_INFO_TYPE_INTEL_VTD = 1,
};

/**
 * enum iommufd_hw_info_flags - flags of IOMMU_GET_HW_INFO
 * @IOMMU_HW_INFO_FLAG_INPUT_TYPE: @in_data_type names the type of data
 *	wanted; a driver that cannot report it fails with EOPNOTSUPP
 */
enum iommufd_hw_info_flags {
	IOMMU_HW_INFO_FLAG_INPUT_TYPE = 1 << 0,
};

/**
 * enum iommufd_hw_capabilities - generic IOMMU capabilities of a device
 * @IOMMU_HW_CAP_DIRTY_TRACKING: the IOMMU can track dirty IOVAs
 * @IOMMU_HW_CAP_PCI_PASID_EXEC: the device may use PASID execute requests
 * @IOMMU_HW_CAP_PCI_PASID_PRIV: the device may use PASID privileged mode
 */
enum iommufd_hw_capabilities {
	IOMMU_HW_CAP_DIRTY_TRACKING = 1 << 0,
	IOMMU_HW_CAP_PCI_PASID_EXEC = 1 << 1,
	IOMMU_HW_CAP_PCI_PASID_PRIV = 1 << 2,
};

/**
 * struct iommu_hw_info - ioctl(IOMMU_GET_HW_INFO)
 * @size: sizeof(struct iommu_hw_info)
 * @flags: enum iommufd_hw_info_flags
 * @dev_id: the device, bound to the context
 * @data_len: in: the size of the buffer at @data_uptr; out: the size of
 *	the data the driver has, which may be more or less
 * @data_uptr: where the driver's data goes; bytes of the buffer past the
 *	data are zeroed
 * @in_data_type: with IOMMU_HW_INFO_FLAG_INPUT_TYPE, the enum
 *	iommu_hw_info_type wanted (IOMMU_HW_INFO_TYPE_DEFAULT: any)
 * @out_data_type: enum iommu_hw_info_type: what the data is
 * @out_max_pasid_log2: how many PASID bits the device supports; 0 without
 *	PASID
 * @__reserved: must be 0
 * @out_capabilities: enum iommufd_hw_capabilities
 *
 * Tells userspace about the IOMMU behind a device, for example so that a
 * VMM can offer a matching virtual IOMMU. ENOENT if @dev_id is not a
 * device, EOPNOTSUPP for unknown flags or a type the driver cannot report.
 */
struct iommu_hw_info {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 data_len;
	__aligned_u64 data_uptr;
	union {
		__u32 in_data_type;
		__u32 out_data_type;
	};
	__u8 out_max_pasid_log2;
	__u8 __reserved[3];
	__aligned_u64 out_capabilities;
};

#define IOMMU_GET_HW_INFO _IO(IOMMUFD_TYPE, IOMMUFD_CMD_GET_HW_INFO)

/**
 * enum iommufd_hwpt_set_dirty_tracking_flags - flags of
 *	IOMMU_HWPT_SET_DIRTY_TRACKING
 * @IOMMU_HWPT_DIRTY_TRACKING_ENABLE: start tracking; without it, stop
 */
enum iommufd_hwpt_set_dirty_tracking_flags {
	IOMMU_HWPT_DIRTY_TRACKING_ENABLE = 1,
};

/**
 * struct iommu_hwpt_set_dirty_tracking - ioctl(IOMMU_HWPT_SET_DIRTY_TRACKING)
 * @size: sizeof(struct iommu_hwpt_set_dirty_tracking)
 * @flags: enum iommufd_hwpt_set_dirty_tracking_flags
 * @hwpt_id: a page table made with IOMMU_HWPT_ALLOC_DIRTY_TRACKING
 * @__reserved: must be 0
 *
 * Starts or stops recording, in the page table, which IOVAs devices write.
 * Starting clears what was recorded before, so that the first
 * IOMMU_HWPT_GET_DIRTY_BITMAP reports only writes made since. ENOENT if
 * @hwpt_id is not a page table, EOPNOTSUPP for unknown flags, a reserved
 * field that is not 0, or a page table that cannot track.
 */
struct iommu_hwpt_set_dirty_tracking {
	__u32 size;
	__u32 flags;
	__u32 hwpt_id;
	__u32 __reserved;
};

#define IOMMU_HWPT_SET_DIRTY_TRACKING _IO(IOMMUFD_TYPE, \
					  IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING)

/**
 * enum iommufd_hwpt_get_dirty_bitmap_flags - flags of
 *	IOMMU_HWPT_GET_DIRTY_BITMAP
 * @IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR: report without clearing, for
 *	example right before unmapping the range, which discards the record
 */
enum iommufd_hwpt_get_dirty_bitmap_flags {
	IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR = 1,
};

/**
 * struct iommu_hwpt_get_dirty_bitmap - ioctl(IOMMU_HWPT_GET_DIRTY_BITMAP)
 * @size: sizeof(struct iommu_hwpt_get_dirty_bitmap)
 * @hwpt_id: a page table made with IOMMU_HWPT_ALLOC_DIRTY_TRACKING
 * @flags: enum iommufd_hwpt_get_dirty_bitmap_flags
 * @__reserved: must be 0
 * @iova: the first IOVA of the range
 * @length: the length of the range
 * @page_size: how much IOVA one bit of the bitmap stands for, a power of 2
 * @data: the user bitmap, an array of __u64, one bit per @page_size of
 *	IOVA from @iova
 *
 * Sets the bit of every @page_size block of [@iova, @iova + @length) that a
 * device wrote since the last report (or since tracking started), and
 * clears the record unless IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR is given.
 * Bits of clean blocks are left as they are, so userspace zeroes the
 * bitmap first. The bit of IOVA x is::
 *
 *	data[((x - iova) / page_size) / 64] & (1ULL << (((x - iova) / page_size) % 64))
 *
 * A written IO page larger than @page_size sets the bits of all its blocks
 * inside the range. No more than 2 MiB of the bitmap is pinned at a time,
 * however large the range.
 *
 * ENOENT if @hwpt_id is not a page table; EOPNOTSUPP for unknown flags, a
 * reserved field that is not 0, or a page table that cannot track;
 * EINVAL if @length or @page_size is 0, @page_size is not a power of 2,
 * @iova or @length is not a multiple of @page_size and of the IOAS's IOVA
 * alignment, or part of the range is not mapped; EOVERFLOW if the range
 * wraps; EFAULT if the bitmap cannot be written.
 */
struct iommu_hwpt_get_dirty_bitmap {
	__u32 size;
	__u32 hwpt_id;
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 page_size;
	__aligned_u64 data;
};

#define IOMMU_HWPT_GET_DIRTY_BITMAP _IO(IOMMUFD_TYPE, \
					IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP)

/**
 * struct iommu_ioas_change_process - ioctl(IOMMU_IOAS_CHANGE_PROCESS)
 * @size: sizeof(struct iommu_ioas_change_process)
 * @__reserved: must be 0
 *
 * Charges the pinned memory of every mapping in every IOAS of the context
 * to the calling process from now on, for handing a running device over to
 * another process (live update): the pins leave the old process's counters
 * (RLIMIT_MEMLOCK charge, VmPin) for the caller's, all at once, and later
 * pins and unpins are the caller's. Each mapping keeps the accounting mode
 * it was made with; a mapping made by a CAP_IPC_LOCK process stays
 * uncharged.
 *
 * Only mappings of files (IOMMU_IOAS_MAP_FILE) can move: the memory of a
 * user-memory mapping stays in the old address space. With any such
 * mapping the call fails with EINVAL and nothing changes. If the charges
 * would exceed the caller's RLIMIT_MEMLOCK it fails with ENOMEM and nothing
 * changes. Without any mapping it succeeds and changes nothing.
 */
struct iommu_ioas_change_process {
	__u32 size;
	__u32 __reserved;
};

#define IOMMU_IOAS_CHANGE_PROCESS \
	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_CHANGE_PROCESS)

#endif
