// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fault-injection sweeps over iommufd's error paths.
 *
 * Each scenario runs again and again with the Nth fault-injection point of
 * the task failing (/proc/self/task/<tid>/fail-nth: every slab and page
 * allocation, and fail_iommufd, which guards iommufd's own allocations and
 * the pinning of user memory and of files), for N = 1, 2, ... until a run
 * completes without reaching the Nth point. Every run must either succeed,
 * ending in exactly the state a run without injection ends in, or fail
 * with ENOMEM at the call where the fault hit, leaving the state exactly
 * as before that call: the mappings, the pinned pages and the
 * pinned-memory counter. After each run everything is closed and no page
 * may remain pinned. The kernel's checkers (KASAN, lockdep, kmemleak at the
 * end of the boot) watch the error paths meanwhile.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "../../../../drivers/iommu/iommufd/iommufd_test.h"

#include "../kselftest_harness.h"
#include "iommufd_test_util.h"

#define NPAGES 8
#define APERTURE MOCK_APERTURE_START
#define MAX_RUNS 20000

static long page_size;
static uint8_t *buffer;

/* Quiet fault injection, and plain mock devices whatever was set before. */
static bool fault_injection_setup(void)
{
	if (!fault_injection_prepare())
		return false;
	debugfs_bool("/sys/kernel/debug/iommufd/mock_share_group", false);
	debugfs_bool("/sys/kernel/debug/iommufd/mock_msi_window", false);
	debugfs_bool("/sys/kernel/debug/iommufd/mock_driver_match", false);
	return true;
}

/* What one run sets up, and the state it expects at every step. */
struct run {
	int fd;
	uint32_t ioas[2];
	uint32_t stdev[2];
	int access;
	uint32_t access_item;
	/* The expected state: mapped bytes per IOAS, pins per buffer page. */
	uint64_t mapped[2];
	unsigned int refs[NPAGES];
	/* A device that must stay on page table @hwpt, checked if @idev. */
	uint32_t idev;
	uint32_t hwpt;
	long vmpin_base;
	/* KiB pinned of the hugetlbfs buffer (type1_cut), mapped at APERTURE. */
	long huge_pinned_kb;
	/* The offset of the page of that buffer unmapped, if one was. */
	uint64_t huge_hole;
	int err;	/* errno of the call that failed, 0 if none */
};

#define HUGE_LEN (2 * 1024 * 1024)
static uint8_t *huge_buffer = MAP_FAILED;
/* The hugetlbfs pool to put back, or -1 (the fixture's teardown does). */
static long huge_pool = -1;

static long vmpin_kb(void)
{
	return status_kb("VmPin:");
}

static int test_cmd(int fd, struct iommu_test_cmd *cmd)
{
	cmd->size = sizeof(*cmd);
	return ioctl(fd, IOMMU_TEST_CMD, cmd);
}

static int ioas_alloc(int fd, uint32_t *id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	int rc = ioctl(fd, IOMMU_IOAS_ALLOC, &cmd);

	*id = cmd.out_ioas_id;
	return rc;
}

static int map(int fd, uint32_t ioas, void *va, uint64_t length,
	       uint64_t *iova, bool fixed)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE |
			 (fixed ? IOMMU_IOAS_MAP_FIXED_IOVA : 0),
		.ioas_id = ioas,
		.user_va = (uintptr_t)va,
		.length = length,
		.iova = *iova,
	};
	int rc = ioctl(fd, IOMMU_IOAS_MAP, &cmd);

	*iova = cmd.iova;
	return rc;
}

static int unmap_all(int fd, uint32_t ioas, uint64_t *unmapped)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas,
		.length = UINT64_MAX,
	};
	int rc = ioctl(fd, IOMMU_IOAS_UNMAP, &cmd);

	*unmapped = rc ? 0 : cmd.length;
	return rc;
}

static int copy(int fd, uint32_t dst, uint64_t dst_iova, uint32_t src,
		uint64_t src_iova, uint64_t length)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA,
		.dst_ioas_id = dst,
		.src_ioas_id = src,
		.length = length,
		.dst_iova = dst_iova,
		.src_iova = src_iova,
	};

	return ioctl(fd, IOMMU_IOAS_COPY, &cmd);
}

static int mock_domain(int fd, uint32_t ioas, uint32_t *stdev)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MOCK_DOMAIN,
		.id = ioas,
	};
	int rc = test_cmd(fd, &cmd);

	*stdev = cmd.mock_domain.out_stdev_id;
	return rc;
}

/* A mock device on @ioas: its IDs as a selftest object and as a device. */
static int mock_device(int fd, uint32_t ioas, uint32_t *stdev, uint32_t *idev)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MOCK_DOMAIN,
		.id = ioas,
	};
	int rc = test_cmd(fd, &cmd);

	*stdev = cmd.mock_domain.out_stdev_id;
	*idev = cmd.mock_domain.out_idev_id;
	return rc;
}

/* Move mock device @stdev to the IOAS or page table @pt_id; *@hwpt: where. */
static int mock_replace(int fd, uint32_t stdev, uint32_t pt_id,
			uint32_t *hwpt)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
		.id = stdev,
		.mock_domain_replace = { .pt_id = pt_id },
	};
	int rc = test_cmd(fd, &cmd);

	*hwpt = cmd.mock_domain_replace.pt_id;
	return rc;
}

static int hwpt_alloc(int fd, uint32_t idev, uint32_t ioas, uint32_t *hwpt)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.dev_id = idev,
		.pt_id = ioas,
	};
	int rc = ioctl(fd, IOMMU_HWPT_ALLOC, &cmd);

	*hwpt = cmd.out_hwpt_id;
	return rc;
}

static int check_refs(int fd, unsigned int first, unsigned int n,
		      unsigned int refs)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MD_CHECK_REFS,
		.check_refs = { .uptr = (uintptr_t)(buffer + first * page_size),
				.length = n * page_size, .refs = refs },
	};

	return test_cmd(fd, &cmd);
}

/* Pages [first, first + n) of the buffer are now pinned @refs times. */
static void set_refs(struct run *run, unsigned int first, unsigned int n,
		     unsigned int refs)
{
	while (n--)
		run->refs[first++] = refs;
}

/*
 * The state is what the run expects at this step: the pins of each buffer
 * page, VmPin, the page table of the device the run watches, and the
 * bytes each IOAS maps (which unmapping everything reports). It unmaps
 * everything: only the last thing a scenario does.
 */
static void check_state(struct __test_metadata *_metadata, struct run *run)
{
	unsigned int i, pinned = 0;
	uint64_t unmapped;

	for (i = 0; i != NPAGES; i++) {
		EXPECT_EQ(0, check_refs(run->fd, i, 1, run->refs[i]));
		pinned += run->refs[i];
	}
	EXPECT_EQ(run->vmpin_base + pinned * page_size / 1024 +
		  run->huge_pinned_kb, vmpin_kb());
	if (run->idev)
		EXPECT_EQ(run->hwpt, device_page_table(run->idev));
	/* What the page table maps of the hugetlbfs buffer, page by page. */
	if (run->huge_pinned_kb && !run->huge_hole) {
		EXPECT_EQ(0, md_check_map(run->fd, run->hwpt, APERTURE,
					  huge_buffer, HUGE_LEN));
	} else if (run->huge_pinned_kb) {
		EXPECT_EQ(0, md_check_map(run->fd, run->hwpt, APERTURE,
					  huge_buffer, run->huge_hole));
		/* Each of the page's two mock IO pages. */
		EXPECT_NE(0, md_check_map(run->fd, run->hwpt,
					  APERTURE + run->huge_hole,
					  huge_buffer + run->huge_hole,
					  page_size / 2));
		EXPECT_NE(0, md_check_map(run->fd, run->hwpt,
					  APERTURE + run->huge_hole +
						  page_size / 2,
					  huge_buffer + run->huge_hole +
						  page_size / 2,
					  page_size / 2));
		EXPECT_EQ(0, md_check_map(run->fd, run->hwpt,
					  APERTURE + run->huge_hole + page_size,
					  huge_buffer + run->huge_hole +
						  page_size,
					  HUGE_LEN - run->huge_hole -
						  page_size));
	}
	for (i = 0; i != 2; i++) {
		if (!run->ioas[i])
			continue;
		EXPECT_EQ(0, unmap_all(run->fd, run->ioas[i], &unmapped));
		EXPECT_EQ(run->mapped[i], unmapped);
	}
}

/*
 * A call under injection failed: stop injecting, and check the call left
 * the state as the run expected it before the call.
 */
static int step_failed(struct __test_metadata *_metadata, struct run *run)
{
	run->err = errno;
	fail_nth_stop();
	EXPECT_EQ(ENOMEM, run->err);
	check_state(_metadata, run);
	return -1;
}

/* Map with a page table present: pins, then fills the domain. */
static int scenario_map(struct __test_metadata *_metadata, struct run *run)
{
	uint64_t iova = APERTURE, unmapped;

	if (map(run->fd, run->ioas[0], buffer, 4 * page_size, &iova, true))
		return step_failed(_metadata, run);
	run->mapped[0] = 4 * page_size;
	set_refs(run, 0, 4, 1);
	iova = 0;
	if (map(run->fd, run->ioas[0], buffer, NPAGES * page_size, &iova,
		false))
		return step_failed(_metadata, run);
	/* A second IOMMU_IOAS_MAP of the same memory pins it again. */
	run->mapped[0] += NPAGES * page_size;
	set_refs(run, 0, 4, 2);
	set_refs(run, 4, 4, 1);
	if (unmap_all(run->fd, run->ioas[0], &unmapped))
		return step_failed(_metadata, run);
	run->mapped[0] = 0;
	set_refs(run, 0, NPAGES, 0);
	return 0;
}

static void setup_one_domain(struct __test_metadata *_metadata,
			     struct run *run)
{
	ASSERT_EQ(0, mock_domain(run->fd, run->ioas[0], &run->stdev[0]));
}

/* Two page tables appear over existing mappings, then more is mapped. */
static int scenario_two_domains(struct __test_metadata *_metadata,
				struct run *run)
{
	uint64_t iova = APERTURE + 64 * page_size;

	if (mock_domain(run->fd, run->ioas[0], &run->stdev[0]))
		return step_failed(_metadata, run);
	set_refs(run, 0, 4, 1);
	/* The second device gets its own page table: another IOAS. */
	if (mock_domain(run->fd, run->ioas[1], &run->stdev[1]))
		return step_failed(_metadata, run);
	if (copy(run->fd, run->ioas[1], APERTURE, run->ioas[0], APERTURE,
		 4 * page_size))
		return step_failed(_metadata, run);
	run->mapped[1] = 4 * page_size;
	if (map(run->fd, run->ioas[0], buffer + 4 * page_size,
		4 * page_size, &iova, true))
		return step_failed(_metadata, run);
	run->mapped[0] += 4 * page_size;
	set_refs(run, 4, 4, 1);
	return 0;
}

static void setup_mapped(struct __test_metadata *_metadata, struct run *run)
{
	uint64_t iova = APERTURE;

	ASSERT_EQ(0, map(run->fd, run->ioas[0], buffer, 4 * page_size, &iova,
			 true));
	run->mapped[0] = 4 * page_size;
}

/* Copies between IOASes that both have a page table. */
static int scenario_copy(struct __test_metadata *_metadata, struct run *run)
{
	uint64_t unmapped;

	if (copy(run->fd, run->ioas[1], APERTURE + 16 * page_size,
		 run->ioas[0], APERTURE + page_size, 2 * page_size))
		return step_failed(_metadata, run);
	run->mapped[1] = 2 * page_size;
	if (copy(run->fd, run->ioas[1], APERTURE, run->ioas[0], APERTURE,
		 4 * page_size))
		return step_failed(_metadata, run);
	run->mapped[1] += 4 * page_size;
	if (unmap_all(run->fd, run->ioas[0], &unmapped))
		return step_failed(_metadata, run);
	run->mapped[0] = 0;
	return 0;
}

static void setup_copy(struct __test_metadata *_metadata, struct run *run)
{
	setup_mapped(_metadata, run);
	ASSERT_EQ(0, mock_domain(run->fd, run->ioas[0], &run->stdev[0]));
	ASSERT_EQ(0, mock_domain(run->fd, run->ioas[1], &run->stdev[1]));
	set_refs(run, 0, 4, 1);
}

static int access_create(struct run *run, uint32_t flags)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_CREATE_ACCESS,
		.id = run->ioas[0],
		.create_access = { .flags = flags },
	};
	int rc = test_cmd(run->fd, &cmd);

	run->access = rc ? -1 : (int)cmd.create_access.out_access_fd;
	return rc;
}

/* An access pins, without a page table and then with one. */
static int scenario_access_pin(struct __test_metadata *_metadata,
			       struct run *run)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_ACCESS_PAGES,
		.access_pages = { .iova = APERTURE + page_size,
				  .length = 2 * page_size,
				  .uptr = (uintptr_t)(buffer + page_size) },
	};
	struct iommu_test_cmd unpin = {
		.op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES,
	};

	if (access_create(run, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES))
		return step_failed(_metadata, run);
	cmd.id = run->access;
	if (test_cmd(run->fd, &cmd))
		return step_failed(_metadata, run);
	set_refs(run, 1, 2, 1);
	/* The page table pins the rest of the mapping only. */
	if (mock_domain(run->fd, run->ioas[0], &run->stdev[0]))
		return step_failed(_metadata, run);
	set_refs(run, 0, 4, 1);
	/* The same range again shares the pins. */
	if (test_cmd(run->fd, &cmd))
		return step_failed(_metadata, run);
	unpin.id = run->access;
	unpin.destroy_access_pages.access_pages_id =
		cmd.access_pages.out_access_pages_id;
	if (test_cmd(run->fd, &unpin))
		return step_failed(_metadata, run);
	return 0;
}

/* An access copies in and out, through the user mapping and by pinning. */
static int scenario_access_rw(struct __test_metadata *_metadata,
			      struct run *run)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_ACCESS_RW,
		.access_rw = { .iova = APERTURE + page_size - 16,
			       .length = 2 * page_size + 32 },
	};
	static const uint32_t flags[] = {
		0,
		MOCK_ACCESS_RW_WRITE,
		MOCK_ACCESS_RW_SLOW_PATH,
		MOCK_ACCESS_RW_SLOW_PATH | MOCK_ACCESS_RW_WRITE,
	};
	uint8_t tmp[3 * 4096];
	unsigned int i;

	cmd.access_rw.uptr = (uintptr_t)tmp;
	memcpy(tmp, buffer + page_size - 16, cmd.access_rw.length);
	if (access_create(run, 0))
		return step_failed(_metadata, run);
	cmd.id = run->access;
	for (i = 0; i != ARRAY_SIZE(flags); i++) {
		cmd.access_rw.flags = flags[i];
		if (test_cmd(run->fd, &cmd))
			return step_failed(_metadata, run);
	}
	return 0;
}

/*
 * File-backed runs: @buffer is then a shared mapping of this memfd, so the
 * pin counts checked are those of the file's pages.
 */
static int memfd = -1;

/* Maps of a file with a page table present, overlapping, then a copy. */
static int scenario_map_file(struct __test_metadata *_metadata,
			     struct run *run)
{
	uint64_t iova = APERTURE, unmapped;
	uint32_t flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE |
			 IOMMU_IOAS_MAP_FIXED_IOVA;

	if (map_file(run->fd, run->ioas[0], flags, memfd, 0, 4 * page_size,
		     &iova))
		return step_failed(_metadata, run);
	run->mapped[0] = 4 * page_size;
	set_refs(run, 0, 4, 1);
	/* Another map of the same file pins its pages again. */
	iova = APERTURE + 64 * page_size;
	if (map_file(run->fd, run->ioas[0], flags, memfd, 2 * page_size,
		     4 * page_size, &iova))
		return step_failed(_metadata, run);
	run->mapped[0] += 4 * page_size;
	set_refs(run, 2, 2, 2);
	set_refs(run, 4, 2, 1);
	if (copy(run->fd, run->ioas[1], APERTURE, run->ioas[0], APERTURE,
		 4 * page_size))
		return step_failed(_metadata, run);
	run->mapped[1] = 4 * page_size;
	if (unmap_all(run->fd, run->ioas[0], &unmapped))
		return step_failed(_metadata, run);
	run->mapped[0] = 0;
	set_refs(run, 4, 2, 0);
	set_refs(run, 0, 4, 1);
	return 0;
}

/* The ioctls of dirty tracking; the bitmap covers 4 pages, 2 IO pages each. */
static int dirty_ioctl(int fd, unsigned long ioctl_nr, uint32_t hwpt,
		       uint32_t flags, uint64_t *bitmap)
{
	struct iommu_hwpt_set_dirty_tracking set = {
		.size = sizeof(set),
		.flags = flags,
		.hwpt_id = hwpt,
	};
	struct iommu_hwpt_get_dirty_bitmap get = {
		.size = sizeof(get),
		.hwpt_id = hwpt,
		.flags = flags,
		.iova = APERTURE,
		.length = 4 * page_size,
		.page_size = page_size / 2,
		.data = (uintptr_t)bitmap,
	};
	struct iommu_test_cmd write = {
		.op = IOMMU_TEST_OP_DIRTY,
		.id = hwpt,
		.dirty = { .iova = APERTURE, .length = 4 * page_size,
			   .page_size = page_size / 2,
			   .uptr = (uintptr_t)bitmap },
	};

	if (ioctl_nr == IOMMU_HWPT_SET_DIRTY_TRACKING)
		return ioctl(fd, ioctl_nr, &set);
	if (ioctl_nr == IOMMU_HWPT_GET_DIRTY_BITMAP)
		return ioctl(fd, ioctl_nr, &get);
	return test_cmd(fd, &write);
}

/*
 * A tracking page table made for a new device, turned on, written by the
 * device, then read. A read that fails leaves the dirty bits as they were.
 */
static int scenario_dirty(struct __test_metadata *_metadata, struct run *run)
{
	struct iommu_test_cmd dev = {
		.op = IOMMU_TEST_OP_MOCK_DOMAIN,
		.id = run->ioas[0],
	};
	struct iommu_hwpt_alloc alloc = {
		.size = sizeof(alloc),
		.flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
		.pt_id = run->ioas[0],
	};
	uint64_t written = 0x29, got = 0;
	int err;

	if (test_cmd(run->fd, &dev))
		return step_failed(_metadata, run);
	run->stdev[0] = dev.mock_domain.out_stdev_id;
	set_refs(run, 0, 4, 1);
	alloc.dev_id = dev.mock_domain.out_idev_id;
	if (ioctl(run->fd, IOMMU_HWPT_ALLOC, &alloc))
		return step_failed(_metadata, run);
	if (dirty_ioctl(run->fd, IOMMU_HWPT_SET_DIRTY_TRACKING,
			alloc.out_hwpt_id, IOMMU_HWPT_DIRTY_TRACKING_ENABLE,
			NULL))
		return step_failed(_metadata, run);
	if (dirty_ioctl(run->fd, IOMMU_TEST_CMD, alloc.out_hwpt_id, 0,
			&written))
		return step_failed(_metadata, run);
	if (dirty_ioctl(run->fd, IOMMU_HWPT_GET_DIRTY_BITMAP,
			alloc.out_hwpt_id, 0, &got)) {
		err = errno;
		fail_nth_stop();
		got = 0;
		EXPECT_EQ(0, dirty_ioctl(run->fd, IOMMU_HWPT_GET_DIRTY_BITMAP,
					 alloc.out_hwpt_id,
					 IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR,
					 &got));
		EXPECT_EQ(written, got);
		errno = err;
		return step_failed(_metadata, run);
	}
	EXPECT_EQ(written, got);
	return 0;
}

/*
 * A device moves to a new page table of another IOAS, then to one made on
 * request while it was attached: each is finished by its driver at an
 * attach (the mock's, as ARM SMMU's, needs one), then filled. A failure
 * leaves the device translated by the page table it was on.
 */
static int scenario_replace(struct __test_metadata *_metadata,
			    struct run *run)
{
	uint32_t hwpt, got;

	/* Not debugfs meanwhile: its allocations count for the injection. */
	if (mock_replace(run->fd, run->stdev[0], run->ioas[1], &got))
		return step_failed(_metadata, run);
	run->hwpt = got;
	if (hwpt_alloc(run->fd, run->idev, run->ioas[0], &hwpt))
		return step_failed(_metadata, run);
	if (mock_replace(run->fd, run->stdev[0], hwpt, &got))
		return step_failed(_metadata, run);
	EXPECT_EQ(hwpt, got);
	run->hwpt = got;
	return 0;
}

static void setup_replace(struct __test_metadata *_metadata, struct run *run)
{
	setup_mapped(_metadata, run);
	ASSERT_EQ(0, mock_device(run->fd, run->ioas[0], &run->stdev[0],
				 &run->idev));
	set_refs(run, 0, 4, 1);
	ASSERT_EQ(0, copy(run->fd, run->ioas[1], APERTURE, run->ioas[0],
			  APERTURE, 4 * page_size));
	run->mapped[1] = 4 * page_size;
	run->hwpt = device_page_table(run->idev);
	ASSERT_NE(0, run->hwpt);
}

/* What a device's set-up allocates besides its page table. */
static int scenario_objects(struct __test_metadata *_metadata,
			    struct run *run)
{
	uint64_t data[64];
	struct iommu_hw_info info = {
		.size = sizeof(info),
		.dev_id = run->idev,
		.data_len = sizeof(data),
		.data_uptr = (uintptr_t)data,
	};
	uint32_t ioas;

	if (ioas_alloc(run->fd, &ioas))
		return step_failed(_metadata, run);
	if (ioctl(run->fd, IOMMU_GET_HW_INFO, &info))
		return step_failed(_metadata, run);
	return 0;
}

static void setup_device(struct __test_metadata *_metadata, struct run *run)
{
	ASSERT_EQ(0, mock_device(run->fd, run->ioas[0], &run->stdev[0],
				 &run->idev));
	run->hwpt = device_page_table(run->idev);
	ASSERT_NE(0, run->hwpt);
}

static void setup_two_domains(struct __test_metadata *_metadata,
			      struct run *run)
{
	ASSERT_EQ(0, mock_domain(run->fd, run->ioas[0], &run->stdev[0]));
	ASSERT_EQ(0, mock_domain(run->fd, run->ioas[1], &run->stdev[1]));
}

/*
 * VFIO_TYPE1_IOMMU on a context whose compatibility IOAS maps 2 MiB of
 * hugetlbfs memory into a page table of huge IO pages (a mock device's):
 * an unmap of one page inside cuts the mapping at both ends, each cut
 * remapping the huge IO page it goes through in two (see
 * iopt_area_remap_for_cut()). A failure anywhere leaves every IOVA mapped
 * to the same memory as before.
 */
static void setup_type1_huge(struct __test_metadata *_metadata,
			     struct run *run)
{
	struct iommu_test_cmd device = {
		.op = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,
		.id = run->ioas[0],
		.mock_domain_flags = { .dev_flags = MOCK_FLAGS_DEVICE_HUGE_IOVA },
	};
	struct iommu_vfio_ioas compat = {
		.size = sizeof(compat),
		.ioas_id = run->ioas[0],
		.op = IOMMU_VFIO_IOAS_SET,
	};
	uint64_t iova = APERTURE;
	char field[64];

	ASSERT_EQ(0, map(run->fd, run->ioas[0], huge_buffer, HUGE_LEN, &iova,
			 true));
	run->mapped[0] = HUGE_LEN;
	ASSERT_EQ(0, test_cmd(run->fd, &device));
	run->stdev[0] = device.mock_domain.out_stdev_id;
	run->idev = device.mock_domain.out_idev_id;
	/* A page table of its own, filled with huge IO pages at the attach. */
	ASSERT_EQ(0, mock_replace(run->fd, run->stdev[0], run->ioas[0],
				  &run->hwpt));
	snprintf(field, sizeof(field), "mock_huge_io_pages=%ld",
		 HUGE_LEN / (page_size / 2));
	ASSERT_TRUE(hwpt_has(run->hwpt, field));
	run->huge_pinned_kb = HUGE_LEN / 1024;
	ASSERT_EQ(0, ioctl(run->fd, IOMMU_VFIO_IOAS, &compat));
	ASSERT_EQ(0, ioctl(run->fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));
}

/* Failed runs in which the table had unmapped a window before the failure. */
static unsigned int type1_cut_after_window;

static int scenario_type1_cut(struct __test_metadata *_metadata,
			      struct run *run)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = APERTURE + 5 * page_size,
		.size = page_size,
	};

	if (ioctl(run->fd, VFIO_IOMMU_UNMAP_DMA, &unmap)) {
		run->err = errno;
		fail_nth_stop();
		if (!hwpt_has(run->hwpt, "mock_unmapped_io_pages=0"))
			type1_cut_after_window++;
		errno = run->err;
		return step_failed(_metadata, run);
	}
	/* The checks of the page table come after the injection stopped. */
	run->mapped[0] -= page_size;
	run->huge_pinned_kb -= page_size / 1024;
	run->huge_hole = 5 * page_size;
	return 0;
}

/* Undo a run: everything goes with the file descriptors. */
static void run_close(struct __test_metadata *_metadata, struct run *run)
{
	int fd;

	if (run->access >= 0)
		close(run->access);
	close(run->fd);
	fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, check_refs(fd, 0, NPAGES, 0));
	close(fd);
	EXPECT_EQ(run->vmpin_base, vmpin_kb());
}

typedef void (*setup_fn)(struct __test_metadata *_metadata, struct run *run);
typedef int (*scenario_fn)(struct __test_metadata *_metadata,
			   struct run *run);

/*
 * Set up, run the scenario with the @nth fault-injection point failing,
 * close. Returns whether the fault was injected.
 */
static bool run_once(struct __test_metadata *_metadata, struct run *run,
		     unsigned int nth, setup_fn setup, scenario_fn scenario)
{
	bool injected;
	int rc;

	memset(run, 0, sizeof(*run));
	run->access = -1;
	run->vmpin_base = vmpin_kb();
	run->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, run->fd);
	ASSERT_EQ(0, ioas_alloc(run->fd, &run->ioas[0]));
	ASSERT_EQ(0, ioas_alloc(run->fd, &run->ioas[1]));
	if (setup)
		setup(_metadata, run);

	fail_nth_set(nth);
	rc = scenario(_metadata, run);
	injected = rc ? true : fail_nth_stop();
	/*
	 * A fault that did not fail the calls changed nothing they did: the
	 * run ends where a run without injection ends.
	 */
	if (!rc)
		check_state(_metadata, run);
	run_close(_metadata, run);
	return injected;
}

static void sweep(struct __test_metadata *_metadata, const char *name,
		  setup_fn setup, scenario_fn scenario)
{
	unsigned int nth, failures = 0;

	if (!fault_injection_setup())
		SKIP(return, "no fault injection (CONFIG_FAULT_INJECTION_DEBUG_FS, debugfs)");

	for (nth = 1; nth != MAX_RUNS; nth++) {
		struct run run;
		bool injected;

		injected = run_once(_metadata, &run, nth, setup, scenario);
		if (run.err)
			failures++;
		if (run.err && run.err != ENOMEM) {
			/* Once more, showing where the fault hit on the console. */
			fault_injection_verbose("2");
			run_once(_metadata, &run, nth, setup, scenario);
			fault_injection_verbose("0");
		}
		if (!injected || !_metadata->passed)
			break;
	}
	ASSERT_NE(MAX_RUNS, nth);
	printf("# %s: %u runs, %u stopped by an injected failure\n", name, nth,
	       failures);
}

FIXTURE(fail_nth)
{
	int unused;
};

FIXTURE_SETUP(fail_nth)
{
	page_size = sysconf(_SC_PAGESIZE);
	buffer = mmap(NULL, NPAGES * page_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, buffer);
}

FIXTURE_TEARDOWN(fail_nth)
{
	munmap(buffer, NPAGES * page_size);
	/* type1_cut's, also when it stopped half-way. */
	if (huge_buffer != MAP_FAILED)
		munmap(huge_buffer, HUGE_LEN);
	huge_buffer = MAP_FAILED;
	if (huge_pool >= 0)
		EXPECT_EQ(0, hugepage_put(huge_pool));
	huge_pool = -1;
}

/*
 * Opening /dev/iommu, each of its allocations failing in turn (the VFS's
 * too): the open fails with ENOMEM, or succeeds where the failure is one
 * the kernel does without.
 */
TEST_F_TIMEOUT(fail_nth, open, 600)
{
	unsigned int nth, failures = 0;
	bool injected;
	int fd, err;

	if (!fault_injection_setup())
		SKIP(return, "no fault injection (CONFIG_FAULT_INJECTION_DEBUG_FS, debugfs)");
	/*
	 * Once first, so that the lookup's caches are warm: otherwise the
	 * first runs have allocations the later ones do not, the context's
	 * own moves earlier from run to run, and the sweep may pass it by.
	 */
	fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, fd);
	close(fd);
	for (nth = 1; nth != MAX_RUNS; nth++) {
		fail_nth_set(nth);
		fd = open("/dev/iommu", O_RDWR);
		err = errno;
		injected = fail_nth_stop();
		if (fd >= 0) {
			close(fd);
			if (!injected)
				break;
			continue;
		}
		ASSERT_TRUE(injected);
		ASSERT_EQ(ENOMEM, err);
		failures++;
	}
	ASSERT_NE(MAX_RUNS, nth);
	EXPECT_LT(0, failures);
	printf("# open: %u runs, %u stopped by an injected failure\n", nth,
	       failures);
}

TEST_F_TIMEOUT(fail_nth, map, 600)
{
	sweep(_metadata, "map", setup_one_domain, scenario_map);
}

TEST_F_TIMEOUT(fail_nth, objects, 600)
{
	sweep(_metadata, "objects", setup_device, scenario_objects);
}

TEST_F_TIMEOUT(fail_nth, map_two_domains, 600)
{
	sweep(_metadata, "map_two_domains", setup_mapped, scenario_two_domains);
}

TEST_F_TIMEOUT(fail_nth, copy, 600)
{
	sweep(_metadata, "copy", setup_copy, scenario_copy);
}

TEST_F_TIMEOUT(fail_nth, access_pin, 600)
{
	sweep(_metadata, "access_pin", setup_mapped, scenario_access_pin);
}

TEST_F_TIMEOUT(fail_nth, access_rw, 600)
{
	sweep(_metadata, "access_rw", setup_mapped, scenario_access_rw);
}

TEST_F_TIMEOUT(fail_nth, dirty, 600)
{
	sweep(_metadata, "dirty", setup_mapped, scenario_dirty);
}

TEST_F_TIMEOUT(fail_nth, replace, 600)
{
	if (access(CONTEXTS_FILE, R_OK))
		SKIP(return, "no " CONTEXTS_FILE " (CONFIG_IOMMUFD_DEBUGFS)");
	sweep(_metadata, "replace", setup_replace, scenario_replace);
}

TEST_F_TIMEOUT(fail_nth, map_file, 600)
{
	uint8_t *anon = buffer;

	memfd = memfd_create("fail_nth", 0);
	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, NPAGES * page_size));
	buffer = mmap(NULL, NPAGES * page_size, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_POPULATE, memfd, 0);
	ASSERT_NE(MAP_FAILED, buffer);
	sweep(_metadata, "map_file", setup_two_domains, scenario_map_file);
	munmap(buffer, NPAGES * page_size);
	buffer = anon;
	close(memfd);
}

/*
 * The remap's first map needs the mock leaf (VT-d: the page table page)
 * that the window's unmap freed; failing it must leave the window mapped
 * again. Some failed run must have got that far.
 */
TEST_F_TIMEOUT(fail_nth, type1_cut, 600)
{
	huge_pool = hugepage_get();
	if (huge_pool < 0)
		SKIP(return, "no 2 MiB hugetlbfs page to be had");
	huge_buffer = mmap(NULL, HUGE_LEN, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
				   MAP_POPULATE,
			   -1, 0);
	ASSERT_NE(MAP_FAILED, huge_buffer);
	type1_cut_after_window = 0;
	sweep(_metadata, "type1_cut", setup_type1_huge, scenario_type1_cut);
	EXPECT_LT(0, type1_cut_after_window);
}

TEST_HARNESS_MAIN
