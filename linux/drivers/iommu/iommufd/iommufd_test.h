/* SPDX-License-Identifier: GPL-2.0 */
/*
 * IOMMU_TEST_CMD: the test-only ioctl of CONFIG_IOMMUFD_TEST.
 *
 * Shared by the kernel and the selftests. Its numbers and layouts are those
 * of upstream Linux's iommufd_test.h, so that upstream's selftests run
 * unchanged against this kernel.
 */
#ifndef _UAPI_IOMMUFD_TEST_H
#define _UAPI_IOMMUFD_TEST_H

#include <linux/iommufd.h>
#include <linux/types.h>

enum {
	IOMMU_TEST_OP_ADD_RESERVED = 1,
	IOMMU_TEST_OP_MOCK_DOMAIN = 2,
	IOMMU_TEST_OP_MD_CHECK_MAP = 3,
	IOMMU_TEST_OP_MD_CHECK_REFS = 4,
	IOMMU_TEST_OP_CREATE_ACCESS = 5,
	IOMMU_TEST_OP_DESTROY_ACCESS_PAGES = 6,
	IOMMU_TEST_OP_ACCESS_PAGES = 7,
	IOMMU_TEST_OP_ACCESS_RW = 8,
	IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT = 9,
	IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE = 10,
	IOMMU_TEST_OP_ACCESS_REPLACE_IOAS = 11,
	IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS = 12,
	IOMMU_TEST_OP_DIRTY = 13,
	IOMMU_TEST_OP_MD_CHECK_IOTLB = 14,
	IOMMU_TEST_OP_TRIGGER_IOPF = 15,
};

/* The IOVA window a mock domain translates. */
enum {
	MOCK_APERTURE_START = 1UL << 24,
	MOCK_APERTURE_LAST = (1UL << 31) - 1,
};

enum {
	MOCK_FLAGS_ACCESS_WRITE = 1 << 0,
	MOCK_FLAGS_ACCESS_SYZ = 1 << 16,
};

enum {
	MOCK_ACCESS_RW_WRITE = 1 << 0,
	MOCK_ACCESS_RW_SLOW_PATH = 1 << 2,
};

enum {
	MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES = 1 << 0,
};

enum {
	MOCK_FLAGS_DEVICE_NO_DIRTY = 1 << 0,
	MOCK_FLAGS_DEVICE_HUGE_IOVA = 1 << 1,
	MOCK_FLAGS_DEVICE_PASID = 1 << 2,
};

/* A mock device made with MOCK_FLAGS_DEVICE_PASID has this many PASID bits. */
enum {
	MOCK_PASID_WIDTH = 20,
};

enum {
	MOCK_NESTED_DOMAIN_IOTLB_ID_MAX = 3,
	MOCK_NESTED_DOMAIN_IOTLB_NUM = 4,
};

/**
 * struct iommu_test_cmd - ioctl(IOMMU_TEST_CMD)
 * @size: sizeof(struct iommu_test_cmd)
 * @op: one of IOMMU_TEST_OP_*
 * @id: the object the operation applies to (an IOAS, HWPT or access)
 * @__reserved: must be 0
 * @add_reserved: IOVA range to reserve in IOAS @id
 * @mock_domain: create a mock device attached to IOAS @id; the IDs of the
 *	selftest object, the page table it got and the device
 * @mock_domain_flags: like @mock_domain, with MOCK_FLAGS_DEVICE_* flags
 * @mock_domain_replace: move mock device @id to IOAS or HWPT @pt_id
 * @check_map: check that page table @id maps [iova, iova + length) to the
 *	user memory at @uptr: entry by entry on a mock domain, whole CPU pages
 *	read back with iommu_iova_to_pfns() on any other
 * @check_refs: check that each page at @uptr is pinned @refs times
 * @create_access: create an access object; returns its file descriptor
 * @destroy_access_pages: unpin the pages of an earlier @access_pages
 * @access_pages: pin [iova, iova + length) through access @id, check the
 *	pages are those at @uptr; returns an ID for @destroy_access_pages
 * @access_rw: copy between [iova, iova + length) and @uptr through access
 *	@id; MOCK_ACCESS_RW_WRITE writes to the IOVA
 * @memory_limit: the budget in bytes for temporary buffers, such as a
 *	batch of PFNs; tests shrink it to cross batch boundaries
 * @access_replace_ioas: move access @id to IOAS @ioas_id
 * @dirty: mark IOVAs of a mock domain dirty (dirty tracking tests)
 * @check_iotlb: check a nested mock domain's IOTLB entry
 * @trigger_iopf: inject an IO page fault
 * @last: must be 0; marks the end of the structure
 */
struct iommu_test_cmd {
	__u32 size;
	__u32 op;
	__u32 id;
	__u32 __reserved;
	union {
		struct {
			__aligned_u64 start;
			__aligned_u64 length;
		} add_reserved;
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			__u32 out_idev_id;
		} mock_domain;
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			__u32 out_idev_id;
			__u32 dev_flags;
		} mock_domain_flags;
		struct {
			__u32 pt_id;
		} mock_domain_replace;
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
		} check_map;
		struct {
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 refs;
		} check_refs;
		struct {
			__u32 out_access_fd;
			__u32 flags;
		} create_access;
		struct {
			__u32 access_pages_id;
		} destroy_access_pages;
		struct {
			__u32 flags;
			__u32 out_access_pages_id;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
		} access_pages;
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 flags;
		} access_rw;
		struct {
			__u32 limit;
		} memory_limit;
		struct {
			__u32 ioas_id;
		} access_replace_ioas;
		struct {
			__u32 flags;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 page_size;
			__aligned_u64 uptr;
			__aligned_u64 out_nr_dirty;
		} dirty;
		struct {
			__u32 id;
			__u32 iotlb;
		} check_iotlb;
		struct {
			__u32 dev_id;
			__u32 pasid;
			__u32 grpid;
			__u32 perm;
			__u64 addr;
		} trigger_iopf;
	};
	__u32 last;
};

#define IOMMU_TEST_CMD _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 32)

/* What IOMMU_GET_HW_INFO reports for a mock device. */
#define IOMMU_HW_INFO_TYPE_SELFTEST 0xfeedbeef
#define IOMMU_HW_INFO_SELFTEST_REGVAL 0xdeadbeef

/**
 * struct iommu_test_hw_info - the mock IOMMU's hardware information
 * @flags: 0
 * @test_reg: IOMMU_HW_INFO_SELFTEST_REGVAL
 */
struct iommu_test_hw_info {
	__u32 flags;
	__u32 test_reg;
};

#endif
