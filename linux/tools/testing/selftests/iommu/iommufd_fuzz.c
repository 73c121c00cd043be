// SPDX-License-Identifier: GPL-2.0-only
/*
 * A structured fuzzer of /dev/iommu, a VFIO device file and the mock test
 * commands.
 *
 * Several threads share one context and issue random calls: every iommufd
 * ioctl, the IOMMU_TEST_CMD operations a driver would exercise, and the
 * device file of a test mdev (bind, attach, detach, and its driver's pins
 * and copies through the context, when CONFIG_IOMMUFD_TEST_MDEV is in), with
 * IDs biased toward live objects and just-destroyed ones, sizes around the
 * real structure sizes (shorter, and longer with a zero or a non-zero
 * tail), flags with unknown bits, and IOVAs and lengths around mapped,
 * unmapped, reserved and top-of-address-space ranges. Each thread draws its
 * calls from its own generator seeded by the run's seed and its index, so a
 * thread's sequence is reproducible; the interleaving of threads is not.
 *
 * The run passes if nothing blocks for good and, once every file is
 * closed, no page of the fuzzer's memory stays pinned and VmPin is back to
 * where it started. The kernel's checkers (KASAN, lockdep, kmemleak,
 * UBSAN) watch the whole run; the harness fails it on any of their reports.
 *
 * IOMMUFD_FUZZ_SEED and IOMMUFD_FUZZ_OPS (the calls of all threads
 * together) set the run; "make fuzz SEED=... OPS=..." passes them.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/iommufd.h>

#include "../../../../drivers/iommu/iommufd/iommufd_test.h"
#include "../../../../drivers/vfio/mdev/iommufd_test_mdev.h"

#include "../kselftest_harness.h"
#include "vfio_edu_util.h"

#define THREADS 4
#define BUFFER_PAGES 64
#define RECENT 64	/* object IDs, IOVAs and access fds remembered */
#define DEFAULT_SEED 1
#define DEFAULT_OPS 100000
#define MDEV_TYPE_DIR "/sys/class/mdev_bus/" IOMMU_TEST_MDEV_PARENT \
	"/mdev_supported_types/" IOMMU_TEST_MDEV_TYPE
#define HUGE_SIZE (2ul << 20)
#define HUGEPAGES "/proc/sys/vm/nr_hugepages"

static long page_size;
static uint8_t *anon;		/* BUFFER_PAGES pages, populated */
static uint8_t *shared;		/* BUFFER_PAGES pages of a memfd */
static uint8_t *scratch;	/* what the mdev driver copies to and from */
static uint8_t *huge;		/* one 2 MiB hugetlbfs page, or NULL */
static uint8_t *huge_area;	/* it and the guards around it */
static int memfd;
static int iommufd;
static char mdev_uuid[64];	/* empty without the test mdev */
static atomic_int mdev_fd = -1;

/* What the threads saw, shared without locks: these are only guesses. */
static atomic_uint recent_ids[RECENT];
static atomic_uint destroyed_ids[RECENT];
/* What maps and copies made; a slot's fields may come from two of them. */
static struct {
	atomic_uint ioas_id;
	atomic_ullong iova;
	atomic_ullong length;
} recent_maps[RECENT];
static atomic_int access_fds[RECENT];
/* The IOAS each of access_fds[] was created on or last moved to. */
static atomic_uint access_ioas[RECENT];
/* Page tables that were made, and the IOAS each was made from. */
static struct {
	atomic_uint hwpt_id;
	atomic_uint ioas_id;
} recent_hwpts[RECENT];
/* The last pin made through each of access_fds[], for its destroy. */
static atomic_uint access_pages_ids[RECENT];

enum fuzz_op {
	OP_IOAS_ALLOC, OP_DESTROY, OP_MAP, OP_MAP_FILE, OP_UNMAP, OP_COPY,
	OP_IOVA_RANGES, OP_ALLOW_IOVAS, OP_OPTION, OP_VFIO_IOAS, OP_HWPT_ALLOC,
	OP_HW_INFO, OP_SET_DIRTY, OP_GET_DIRTY, OP_MOCK_DOMAIN,
	OP_MOCK_REPLACE, OP_ADD_RESERVED, OP_CREATE_ACCESS, OP_CLOSE_ACCESS,
	OP_ACCESS_PAGES, OP_DESTROY_ACCESS_PAGES, OP_ACCESS_RW,
	OP_ACCESS_REPLACE, OP_MOCK_DIRTY, OP_CHECK_MAP, OP_VFIO_BIND,
	OP_VFIO_ATTACH, OP_VFIO_DETACH, OP_VFIO_REOPEN, OP_MDEV_CMD,
	OP_CHANGE_PROCESS, OP_TEMP_MEMORY, OP_RANDOM_IOCTL, NR_OPS
};

static const char *const op_names[NR_OPS] = {
	"ioas_alloc", "destroy", "map", "map_file", "unmap", "copy",
	"iova_ranges", "allow_iovas", "option", "vfio_ioas", "hwpt_alloc",
	"hw_info", "set_dirty", "get_dirty", "mock_domain", "mock_replace",
	"add_reserved", "create_access", "close_access", "access_pages",
	"destroy_access_pages", "access_rw", "access_replace", "mock_dirty",
	"check_map", "vfio_bind", "vfio_attach", "vfio_detach", "vfio_reopen",
	"mdev_cmd", "change_process", "temp_memory", "random_ioctl",
};

struct fuzz_thread {
	pthread_t thread;
	uint64_t rng;
	unsigned long ops;
	unsigned long done[NR_OPS];
	unsigned long succeeded[NR_OPS];
};

/* xorshift64*: small, fast and good enough to pick calls. */
static uint64_t rnd(struct fuzz_thread *t)
{
	t->rng ^= t->rng >> 12;
	t->rng ^= t->rng << 25;
	t->rng ^= t->rng >> 27;
	return t->rng * 0x2545f4914f6cdd1dull;
}

static uint64_t below(struct fuzz_thread *t, uint64_t n)
{
	return n ? rnd(t) % n : 0;
}

static bool chance(struct fuzz_thread *t, unsigned int percent)
{
	return below(t, 100) < percent;
}

static void remember_id(struct fuzz_thread *t, uint32_t id)
{
	recent_ids[below(t, RECENT)] = id;
}

static void remember_map(struct fuzz_thread *t, uint32_t ioas_id,
			 uint64_t iova, uint64_t length)
{
	unsigned int slot = below(t, RECENT);

	recent_maps[slot].ioas_id = ioas_id;
	recent_maps[slot].iova = iova;
	recent_maps[slot].length = length;
}

static void remember_hwpt(struct fuzz_thread *t, uint32_t hwpt_id,
			  uint32_t ioas_id)
{
	unsigned int slot = below(t, RECENT);

	recent_hwpts[slot].hwpt_id = hwpt_id;
	recent_hwpts[slot].ioas_id = ioas_id;
	remember_id(t, hwpt_id);
}

/* Mostly a live object, sometimes a dead one or any number. */
static uint32_t pick_id(struct fuzz_thread *t)
{
	unsigned int r = below(t, 100);

	if (r < 75)
		return recent_ids[below(t, RECENT)];
	if (r < 85)
		return destroyed_ids[below(t, RECENT)];
	if (r < 95)
		return below(t, 32);
	return rnd(t);
}

/*
 * For a map: half the time an IOAS a page table was made from, so that
 * maps also fill domains and the dirty bitmap calls find mapped ranges.
 */
static uint32_t pick_ioas(struct fuzz_thread *t)
{
	return chance(t, 50) ? recent_hwpts[below(t, RECENT)].ioas_id :
				  pick_id(t);
}

static uint64_t pick_length(struct fuzz_thread *t)
{
	switch (below(t, 10)) {
	case 0:
		return 0;
	case 1:
		return below(t, 3 * page_size);
	case 2:
		return 1ull << below(t, 64);
	case 3:
		return UINT64_MAX - below(t, 2) * page_size;
	default:
		return (1 + below(t, 8)) * page_size;
	}
}

static uint64_t pick_iova(struct fuzz_thread *t)
{
	switch (below(t, 10)) {
	case 0:
		return 0;
	case 1:
		return UINT64_MAX - below(t, 4) * page_size;
	case 2:
		return rnd(t);
	case 3:
	case 4:
		return MOCK_APERTURE_START + below(t, 256) * page_size / 2;
	default:
		return recent_maps[below(t, RECENT)].iova +
		       (below(t, 5) - 2) * page_size;
	}
}

/* A recent mapping of IOAS ioas_id, whole; false if none is remembered. */
static bool pick_mapping(struct fuzz_thread *t, uint32_t ioas_id,
			 __u64 *iova, __u64 *length)
{
	unsigned int start = below(t, RECENT), i, slot;
	uint64_t mapped;

	for (i = 0; i != RECENT; i++) {
		slot = (start + i) % RECENT;
		mapped = recent_maps[slot].length;
		if (recent_maps[slot].ioas_id != ioas_id || !mapped ||
		    mapped > (uint64_t)BUFFER_PAGES * page_size)
			continue;
		*iova = recent_maps[slot].iova;
		*length = mapped;
		return true;
	}
	return false;
}

/*
 * For an access, whose pins and reads only succeed in what its own IOAS
 * maps: a range inside a recent mapping of IOAS ioas_id, starting on a page
 * of the mapping if page_start (a pin must), or any pick_iova() when none
 * is remembered. Without it access_pages succeeded about once in a
 * thousand calls.
 */
static uint64_t pick_iova_in(struct fuzz_thread *t, uint32_t ioas_id,
			     bool page_start, uint64_t *length)
{
	__u64 iova, mapped;
	uint64_t offset;

	if (!pick_mapping(t, ioas_id, &iova, &mapped)) {
		*length = pick_length(t);
		return pick_iova(t);
	}
	offset = below(t, mapped);
	if (page_start)
		offset -= offset % page_size;
	*length = 1 + below(t, mapped - offset);
	return iova + offset;
}

/*
 * A user address in (or just off) one of the buffers, or a bad one. The
 * hugetlbfs page, where there is one, is often mapped whole, so that the
 * mock devices with huge IO pages map it with one.
 */
static uint64_t pick_uptr(struct fuzz_thread *t, uint64_t *length)
{
	uint8_t *base = chance(t, 50) ? anon : shared;
	uint64_t pages = 1 + below(t, 16);
	uint64_t first = below(t, BUFFER_PAGES - pages + 1);

	if (chance(t, 5))
		return below(t, 4) ? rnd(t) : 0;
	if (huge && chance(t, 15)) {
		*length = chance(t, 50) ? HUGE_SIZE : pages * page_size;
		first = below(t, (HUGE_SIZE - *length) / page_size + 1);
		return (uintptr_t)(huge + first * page_size);
	}
	*length = chance(t, 85) ? pages * page_size : pick_length(t);
	return (uintptr_t)(base + first * page_size) +
	       (chance(t, 5) ? below(t, page_size) : 0);
}

static uint32_t pick_flags(struct fuzz_thread *t, uint32_t valid)
{
	uint32_t flags = rnd(t) & valid;

	if (chance(t, 10))
		flags |= 1u << below(t, 32);
	return flags;
}

/*
 * The size field of a call: mostly the real size; sometimes less, or more
 * with the extra bytes zero (must work) or not (must fail with E2BIG).
 */
static uint32_t pick_size(struct fuzz_thread *t, void *buf, size_t real,
			  size_t room)
{
	unsigned int r = below(t, 100);
	size_t size = real;

	if (r < 4)
		size = below(t, real);
	else if (r < 8)
		size = real + 8 * (1 + below(t, 4));
	if (size > room)
		size = room;
	if (size > real && r < 6)
		((uint8_t *)buf)[real + below(t, size - real)] = 1 + below(t, 255);
	return size;
}

static int fuzz_ioctl(struct fuzz_thread *t, unsigned long nr, void *buf,
		      size_t real, size_t room)
{
	*(uint32_t *)buf = pick_size(t, buf, real, room);
	return ioctl(iommufd, nr, buf);
}

/* One IOMMU_TEST_CMD; @cmd->op and its member are set by the caller. */
static int fuzz_test_cmd(struct fuzz_thread *t, struct iommu_test_cmd *cmd)
{
	if (chance(t, 2))
		cmd->__reserved = 1;
	cmd->size = chance(t, 97) ? sizeof(*cmd) : below(t, sizeof(*cmd));
	return ioctl(iommufd, IOMMU_TEST_CMD, cmd);
}

/* The calls; each returns the ioctl's result. */
static int fuzz_one(struct fuzz_thread *t, enum fuzz_op op)
{
	union {
		struct iommu_destroy destroy;
		struct iommu_ioas_alloc ioas_alloc;
		struct iommu_ioas_map map;
		struct iommu_ioas_map_file map_file;
		struct iommu_ioas_unmap unmap;
		struct iommu_ioas_copy copy;
		struct iommu_ioas_iova_ranges ranges;
		struct iommu_ioas_allow_iovas allow;
		struct iommu_option option;
		struct iommu_vfio_ioas vfio_ioas;
		struct iommu_hwpt_alloc hwpt_alloc;
		struct iommu_hw_info hw_info;
		struct iommu_hwpt_set_dirty_tracking set_dirty;
		struct iommu_hwpt_get_dirty_bitmap get_dirty;
		uint8_t bytes[256];
	} u;
	struct iommu_iova_range ranges[8];
	struct iommu_test_cmd cmd = { .op = 0 };
	uint64_t bitmap[64], length = 0;
	uint8_t data[256];
	unsigned int slot;
	int rc, fd;

	memset(&u, 0, sizeof(u));
	switch (op) {
	case OP_IOAS_ALLOC:
		u.ioas_alloc.flags = chance(t, 5) ? rnd(t) : 0;
		rc = fuzz_ioctl(t, IOMMU_IOAS_ALLOC, &u, sizeof(u.ioas_alloc),
				sizeof(u));
		if (!rc)
			remember_id(t, u.ioas_alloc.out_ioas_id);
		return rc;
	case OP_DESTROY:
		u.destroy.id = pick_id(t);
		rc = fuzz_ioctl(t, IOMMU_DESTROY, &u, sizeof(u.destroy),
				sizeof(u));
		if (!rc)
			destroyed_ids[below(t, RECENT)] = u.destroy.id;
		return rc;
	case OP_MAP:
		u.map.flags = pick_flags(t, IOMMU_IOAS_MAP_FIXED_IOVA |
					 IOMMU_IOAS_MAP_READABLE |
					 IOMMU_IOAS_MAP_WRITEABLE);
		u.map.ioas_id = pick_ioas(t);
		u.map.user_va = pick_uptr(t, &length);
		u.map.length = length;
		u.map.iova = pick_iova(t);
		rc = fuzz_ioctl(t, IOMMU_IOAS_MAP, &u, sizeof(u.map),
				sizeof(u));
		if (!rc)
			remember_map(t, u.map.ioas_id, u.map.iova,
				     u.map.length);
		return rc;
	case OP_MAP_FILE:
		u.map_file.flags = pick_flags(t, IOMMU_IOAS_MAP_FIXED_IOVA |
					      IOMMU_IOAS_MAP_READABLE |
					      IOMMU_IOAS_MAP_WRITEABLE);
		u.map_file.ioas_id = pick_ioas(t);
		u.map_file.fd = chance(t, 90) ? memfd : below(t, 8) - 1;
		u.map_file.start = chance(t, 90) ?
			below(t, BUFFER_PAGES) * page_size : pick_length(t);
		u.map_file.length = chance(t, 90) ?
			(1 + below(t, 8)) * page_size : pick_length(t);
		u.map_file.iova = pick_iova(t);
		rc = fuzz_ioctl(t, IOMMU_IOAS_MAP_FILE, &u,
				sizeof(u.map_file), sizeof(u));
		if (!rc)
			remember_map(t, u.map_file.ioas_id, u.map_file.iova,
				     u.map_file.length);
		return rc;
	case OP_UNMAP:
		u.unmap.ioas_id = pick_id(t);
		u.unmap.iova = chance(t, 10) ? 0 : pick_iova(t);
		u.unmap.length = chance(t, 10) ? UINT64_MAX : pick_length(t);
		/* Sometimes exactly what a map made, which must work. */
		if (chance(t, 30))
			pick_mapping(t, u.unmap.ioas_id, &u.unmap.iova,
				     &u.unmap.length);
		return fuzz_ioctl(t, IOMMU_IOAS_UNMAP, &u, sizeof(u.unmap),
				  sizeof(u));
	case OP_COPY:
		u.copy.flags = pick_flags(t, IOMMU_IOAS_MAP_FIXED_IOVA |
					  IOMMU_IOAS_MAP_READABLE |
					  IOMMU_IOAS_MAP_WRITEABLE);
		u.copy.dst_ioas_id = pick_id(t);
		u.copy.src_ioas_id = pick_id(t);
		u.copy.length = pick_length(t);
		u.copy.dst_iova = pick_iova(t);
		u.copy.src_iova = pick_iova(t);
		/* Mostly a whole mapping of the source. */
		if (chance(t, 70))
			pick_mapping(t, u.copy.src_ioas_id, &u.copy.src_iova,
				     &u.copy.length);
		rc = fuzz_ioctl(t, IOMMU_IOAS_COPY, &u, sizeof(u.copy),
				sizeof(u));
		if (!rc)
			remember_map(t, u.copy.dst_ioas_id, u.copy.dst_iova,
				     u.copy.length);
		return rc;
	case OP_IOVA_RANGES:
		u.ranges.ioas_id = pick_id(t);
		u.ranges.num_iovas = below(t, 6);
		u.ranges.allowed_iovas = chance(t, 90) ? (uintptr_t)ranges :
							 rnd(t);
		return fuzz_ioctl(t, IOMMU_IOAS_IOVA_RANGES, &u,
				  sizeof(u.ranges), sizeof(u));
	case OP_ALLOW_IOVAS:
		ranges[0].start = pick_iova(t);
		ranges[0].last = ranges[0].start + pick_length(t);
		ranges[1].start = pick_iova(t);
		ranges[1].last = ranges[1].start + pick_length(t);
		u.allow.ioas_id = pick_id(t);
		u.allow.num_iovas = below(t, 3);
		u.allow.allowed_iovas = (uintptr_t)ranges;
		return fuzz_ioctl(t, IOMMU_IOAS_ALLOW_IOVAS, &u,
				  sizeof(u.allow), sizeof(u));
	case OP_OPTION:
		u.option.option_id = below(t, 4);
		u.option.op = below(t, 3);
		u.option.object_id = chance(t, 50) ? 0 : pick_id(t);
		u.option.val64 = below(t, 3);
		return fuzz_ioctl(t, IOMMU_OPTION, &u, sizeof(u.option),
				  sizeof(u));
	case OP_VFIO_IOAS:
		u.vfio_ioas.ioas_id = pick_id(t);
		u.vfio_ioas.op = below(t, 4);
		return fuzz_ioctl(t, IOMMU_VFIO_IOAS, &u, sizeof(u.vfio_ioas),
				  sizeof(u));
	case OP_HWPT_ALLOC:
		u.hwpt_alloc.flags =
			pick_flags(t, IOMMU_HWPT_ALLOC_DIRTY_TRACKING);
		u.hwpt_alloc.dev_id = pick_id(t);
		u.hwpt_alloc.pt_id = pick_id(t);
		rc = fuzz_ioctl(t, IOMMU_HWPT_ALLOC, &u,
				sizeof(u.hwpt_alloc), sizeof(u));
		if (!rc)
			remember_hwpt(t, u.hwpt_alloc.out_hwpt_id,
				      u.hwpt_alloc.pt_id);
		return rc;
	case OP_HW_INFO:
		u.hw_info.dev_id = pick_id(t);
		u.hw_info.data_len = below(t, sizeof(data) + 1);
		u.hw_info.data_uptr = (uintptr_t)data;
		return fuzz_ioctl(t, IOMMU_GET_HW_INFO, &u, sizeof(u.hw_info),
				  sizeof(u));
	case OP_SET_DIRTY:
		u.set_dirty.flags = pick_flags(t,
					       IOMMU_HWPT_DIRTY_TRACKING_ENABLE);
		u.set_dirty.hwpt_id = chance(t, 50) ?
			recent_hwpts[below(t, RECENT)].hwpt_id : pick_id(t);
		return fuzz_ioctl(t, IOMMU_HWPT_SET_DIRTY_TRACKING, &u,
				  sizeof(u.set_dirty), sizeof(u));
	case OP_GET_DIRTY:
		u.get_dirty.hwpt_id = pick_id(t);
		u.get_dirty.flags =
			pick_flags(t, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR);
		u.get_dirty.iova = pick_iova(t);
		u.get_dirty.length = chance(t, 80) ? 16 * page_size :
						     pick_length(t);
		u.get_dirty.page_size = chance(t, 80) ? page_size / 2 :
							1ull << below(t, 64);
		/* Mostly a whole mapping of a page table's IOAS. */
		if (chance(t, 60)) {
			slot = below(t, RECENT);
			u.get_dirty.hwpt_id = recent_hwpts[slot].hwpt_id;
			pick_mapping(t, recent_hwpts[slot].ioas_id,
				     &u.get_dirty.iova, &u.get_dirty.length);
		}
		u.get_dirty.data = chance(t, 95) ? (uintptr_t)bitmap : rnd(t);
		/* A bitmap larger than ours goes nowhere the kernel may write. */
		if (u.get_dirty.page_size && u.get_dirty.length /
		    u.get_dirty.page_size > 8 * sizeof(bitmap))
			u.get_dirty.data = 16;
		return fuzz_ioctl(t, IOMMU_HWPT_GET_DIRTY_BITMAP, &u,
				  sizeof(u.get_dirty), sizeof(u));
	case OP_MOCK_DOMAIN:
		cmd.op = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS;
		cmd.id = pick_id(t);
		cmd.mock_domain_flags.dev_flags =
			pick_flags(t, MOCK_FLAGS_DEVICE_NO_DIRTY |
				   MOCK_FLAGS_DEVICE_HUGE_IOVA |
				   MOCK_FLAGS_DEVICE_PASID);
		rc = fuzz_test_cmd(t, &cmd);
		if (!rc) {
			remember_id(t, cmd.mock_domain.out_stdev_id);
			remember_hwpt(t, cmd.mock_domain.out_hwpt_id, cmd.id);
			remember_id(t, cmd.mock_domain.out_idev_id);
		}
		return rc;
	case OP_MOCK_REPLACE:
		cmd.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE;
		cmd.id = pick_id(t);
		cmd.mock_domain_replace.pt_id = pick_id(t);
		return fuzz_test_cmd(t, &cmd);
	case OP_ADD_RESERVED:
		cmd.op = IOMMU_TEST_OP_ADD_RESERVED;
		cmd.id = pick_id(t);
		cmd.add_reserved.start = pick_iova(t);
		cmd.add_reserved.length = pick_length(t);
		return fuzz_test_cmd(t, &cmd);
	case OP_CREATE_ACCESS:
		cmd.op = IOMMU_TEST_OP_CREATE_ACCESS;
		cmd.id = pick_id(t);
		cmd.create_access.flags =
			pick_flags(t, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
		rc = fuzz_test_cmd(t, &cmd);
		if (!rc) {
			slot = below(t, RECENT);
			fd = atomic_exchange(&access_fds[slot],
					     cmd.create_access.out_access_fd);
			access_ioas[slot] = cmd.id;
			if (fd > 0)
				close(fd);
		}
		return rc;
	case OP_CLOSE_ACCESS:
		/*
		 * Rarely, or the slots would stay nearly empty: one create in
		 * fifteen succeeds (it needs a live IOAS ID), every close would.
		 */
		if (!chance(t, 10))
			return 0;
		fd = atomic_exchange(&access_fds[below(t, RECENT)], 0);
		return fd > 0 ? close(fd) : 0;
	case OP_ACCESS_PAGES:
		slot = below(t, RECENT);
		cmd.op = IOMMU_TEST_OP_ACCESS_PAGES;
		cmd.id = access_fds[slot];
		cmd.access_pages.flags = pick_flags(t, MOCK_FLAGS_ACCESS_WRITE);
		/*
		 * Mostly a range the access's IOAS maps, and no user address:
		 * the mock then checks the pages against nothing, where a
		 * random one would almost never match what the IOVA maps.
		 */
		if (chance(t, 70)) {
			cmd.access_pages.iova =
				pick_iova_in(t, access_ioas[slot],
					     chance(t, 90), &length);
			cmd.access_pages.uptr = 0;
		} else {
			cmd.access_pages.iova = pick_iova(t);
			cmd.access_pages.uptr = pick_uptr(t, &length);
		}
		cmd.access_pages.length = length;
		rc = fuzz_test_cmd(t, &cmd);
		if (!rc) {
			access_pages_ids[slot] =
				cmd.access_pages.out_access_pages_id;
			/* And as an object ID of the wrong kind. */
			remember_id(t, cmd.access_pages.out_access_pages_id);
		}
		return rc;
	case OP_DESTROY_ACCESS_PAGES:
		slot = below(t, RECENT);
		cmd.op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES;
		cmd.id = access_fds[slot];
		cmd.destroy_access_pages.access_pages_id =
			chance(t, 80) ? access_pages_ids[slot] : pick_id(t);
		return fuzz_test_cmd(t, &cmd);
	case OP_ACCESS_RW:
		slot = below(t, RECENT);
		cmd.op = IOMMU_TEST_OP_ACCESS_RW;
		cmd.id = access_fds[slot];
		cmd.access_rw.flags = pick_flags(t, MOCK_ACCESS_RW_WRITE |
						 MOCK_ACCESS_RW_SLOW_PATH);
		if (chance(t, 70)) {
			cmd.access_rw.iova =
				pick_iova_in(t, access_ioas[slot], false,
					     &length);
			cmd.access_rw.length = length;
		} else {
			cmd.access_rw.iova = pick_iova(t) + below(t, 64);
			cmd.access_rw.length = chance(t, 90) ?
				1 + below(t, sizeof(data)) : pick_length(t);
		}
		cmd.access_rw.uptr = (uintptr_t)data;
		if (cmd.access_rw.length > sizeof(data))
			cmd.access_rw.length = sizeof(data);
		return fuzz_test_cmd(t, &cmd);
	case OP_ACCESS_REPLACE:
		slot = below(t, RECENT);
		cmd.op = IOMMU_TEST_OP_ACCESS_REPLACE_IOAS;
		cmd.id = access_fds[slot];
		cmd.access_replace_ioas.ioas_id = pick_id(t);
		rc = fuzz_test_cmd(t, &cmd);
		if (!rc)
			access_ioas[slot] = cmd.access_replace_ioas.ioas_id;
		return rc;
	case OP_MOCK_DIRTY:
		memset(bitmap, 0x55, sizeof(bitmap));
		cmd.op = IOMMU_TEST_OP_DIRTY;
		cmd.id = pick_id(t);
		cmd.dirty.iova = pick_iova(t);
		cmd.dirty.length = chance(t, 90) ? 16 * page_size :
						   pick_length(t);
		cmd.dirty.page_size = page_size / 2;
		cmd.dirty.uptr = (uintptr_t)bitmap;
		return fuzz_test_cmd(t, &cmd);
	case OP_CHECK_MAP:
		cmd.op = IOMMU_TEST_OP_MD_CHECK_MAP;
		cmd.id = pick_id(t);
		cmd.check_map.iova = pick_iova(t);
		cmd.check_map.uptr = pick_uptr(t, &length);
		cmd.check_map.length = length;
		return fuzz_test_cmd(t, &cmd);
	case OP_VFIO_BIND: {
		struct vfio_device_bind_iommufd bind = {
			.argsz = sizeof(bind),
			.flags = chance(t, 5) ? rnd(t) : 0,
			.iommufd = chance(t, 95) ? iommufd : below(t, 16) - 1,
		};

		if (chance(t, 3))
			bind.argsz = below(t, sizeof(bind));
		return ioctl(mdev_fd, VFIO_DEVICE_BIND_IOMMUFD, &bind);
	}
	case OP_VFIO_ATTACH: {
		struct vfio_device_attach_iommufd_pt attach = {
			.argsz = sizeof(attach),
			.flags = chance(t, 5) ? rnd(t) : 0,
			.pt_id = pick_id(t),
		};

		return ioctl(mdev_fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach);
	}
	case OP_VFIO_DETACH: {
		struct vfio_device_detach_iommufd_pt detach = {
			.argsz = sizeof(detach),
			.flags = chance(t, 5) ? rnd(t) : 0,
		};

		return ioctl(mdev_fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach);
	}
	case OP_VFIO_REOPEN:
		/* Rarely: closing unbinds, and the driver drops its pins. */
		if (!mdev_uuid[0] || !chance(t, 2))
			return 0;
		snprintf((char *)data, sizeof(data), MDEV_DEVICES "/%s",
			 mdev_uuid);
		fd = vfio_cdev_open_of((char *)data);
		if (fd < 0)
			return fd;
		fd = atomic_exchange(&mdev_fd, fd);
		return fd >= 0 ? close(fd) : 0;
	case OP_MDEV_CMD: {
		struct iommu_test_mdev_cmd mdev = {
			.size = sizeof(mdev),
			.op = below(t, 7),
			.flags = pick_flags(t, IOMMU_TEST_MDEV_WRITE),
			.iova = pick_iova(t),
			.length = chance(t, 80) ? (1 + below(t, 16)) * page_size :
						  pick_length(t),
			.uptr = (uintptr_t)scratch,
		};

		/* Never more than the scratch buffer holds. */
		if (mdev.length > 16 * page_size)
			mdev.uptr = 16;
		return ioctl(mdev_fd, IOMMU_TEST_MDEV_CMD, &mdev);
	}
	case OP_CHANGE_PROCESS: {
		struct iommu_ioas_change_process change = {
			.__reserved = chance(t, 3),
		};

		/* Ours already, so nothing moves, but every lock is taken. */
		return fuzz_ioctl(t, IOMMU_IOAS_CHANGE_PROCESS, &change,
				  sizeof(change), sizeof(change));
	}
	case OP_TEMP_MEMORY:
		/* Mostly back to the default; else unmaps go a few at a time. */
		cmd.op = IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT;
		cmd.memory_limit.limit = chance(t, 70) ? TEMP_MEMORY_DEFAULT :
					 below(t, 1024);
		return fuzz_test_cmd(t, &cmd);
	default:
		/* Any iommufd ioctl number, with garbage. */
		for (fd = 0; fd != sizeof(u.bytes); fd++)
			u.bytes[fd] = chance(t, 70) ? 0 : rnd(t);
		return fuzz_ioctl(t, _IO(IOMMUFD_TYPE, 0x80 + below(t, 0x30)),
				  &u, below(t, sizeof(u)), sizeof(u));
	}
}

static void *fuzz_thread_fn(void *arg)
{
	struct fuzz_thread *t = arg;
	unsigned long i;

	for (i = 0; i != t->ops; i++) {
		enum fuzz_op op = below(t, NR_OPS);

		t->done[op]++;
		if (!fuzz_one(t, op))
			t->succeeded[op]++;
	}
	return NULL;
}

/*
 * @pages pages of memory (of @fd if not -1) between two inaccessible guard
 * pages: a map that runs past the buffer fails instead of reaching other
 * memory of the process, which a device write could then corrupt.
 */
static uint8_t *guarded_mmap(unsigned int pages, int fd)
{
	uint8_t *area, *mem;

	area = mmap(NULL, (pages + 2) * page_size, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		return MAP_FAILED;
	mem = mmap(area + page_size, pages * page_size, PROT_READ | PROT_WRITE,
		   MAP_FIXED | MAP_POPULATE |
		   (fd < 0 ? MAP_PRIVATE | MAP_ANONYMOUS : MAP_SHARED), fd, 0);
	if (mem == MAP_FAILED)
		munmap(area, (pages + 2) * page_size);
	return mem;
}

static void guarded_munmap(uint8_t *mem, unsigned int pages)
{
	munmap(mem - page_size, (pages + 2) * page_size);
}

/*
 * One 2 MiB hugetlbfs page, added to the pool (whose size before goes to
 * *@pool), between inaccessible pages; NULL if none is to be had.
 */
static uint8_t *huge_mmap(long *pool)
{
	uint8_t *area, *mem;
	char val[32];

	*pool = -1;
	if (read_str(HUGEPAGES, val, sizeof(val)))
		return NULL;
	*pool = atol(val);
	snprintf(val, sizeof(val), "%ld", *pool + 1);
	if (write_file(HUGEPAGES, val))
		return NULL;
	area = mmap(NULL, 3 * HUGE_SIZE, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		return NULL;
	mem = (uint8_t *)(((uintptr_t)area + HUGE_SIZE) & ~(HUGE_SIZE - 1));
	mem = mmap(mem, HUGE_SIZE, PROT_READ | PROT_WRITE,
		   MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
		   MAP_POPULATE, -1, 0);
	if (mem == MAP_FAILED) {
		munmap(area, 3 * HUGE_SIZE);
		return NULL;
	}
	huge_area = area;
	return mem;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *val = getenv(name);

	return val && *val ? strtoull(val, NULL, 0) : def;
}

FIXTURE(fuzz)
{
	int unused;
};

FIXTURE_SETUP(fuzz)
{
}

FIXTURE_TEARDOWN(fuzz)
{
}

TEST_F_TIMEOUT(fuzz, run, 3600)
{
	uint64_t seed = env_u64("IOMMUFD_FUZZ_SEED", DEFAULT_SEED);
	uint64_t ops = env_u64("IOMMUFD_FUZZ_OPS", DEFAULT_OPS);
	struct fuzz_thread threads[THREADS] = {};
	unsigned long done[NR_OPS] = {}, succeeded[NR_OPS] = {};
	long vmpin = status_kb("VmPin:"), pool;
	struct timespec start;
	unsigned int i, op;
	int fd;

	page_size = sysconf(_SC_PAGESIZE);
	anon = guarded_mmap(BUFFER_PAGES, -1);
	ASSERT_NE(MAP_FAILED, anon);
	memfd = memfd_create("iommufd_fuzz", 0);
	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, BUFFER_PAGES * page_size));
	shared = guarded_mmap(BUFFER_PAGES, memfd);
	ASSERT_NE(MAP_FAILED, shared);
	scratch = guarded_mmap(16, -1);
	ASSERT_NE(MAP_FAILED, scratch);
	huge = huge_mmap(&pool);
	if (!huge)
		printf("# no 2 MiB hugetlbfs page: no huge IO pages\n");
	iommufd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, iommufd);
	if (!access(MDEV_TYPE_DIR "/create", W_OK)) {
		char dir[PATH_MAX];

		ASSERT_EQ(0, read_str("/proc/sys/kernel/random/uuid", mdev_uuid,
				      sizeof(mdev_uuid)));
		ASSERT_EQ(0, write_file(MDEV_TYPE_DIR "/create", mdev_uuid));
		snprintf(dir, sizeof(dir), MDEV_DEVICES "/%s", mdev_uuid);
		mdev_fd = vfio_cdev_open_of(dir);
		ASSERT_LE(0, mdev_fd);
	} else {
		printf("# no test mdev (CONFIG_IOMMUFD_TEST_MDEV): the VFIO calls get EBADF\n");
	}

	printf("# seed %llu, %llu calls on %d threads\n",
	       (unsigned long long)seed, (unsigned long long)ops, THREADS);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (i = 0; i != THREADS; i++) {
		threads[i].rng = (seed + 1) * 0x9e3779b97f4a7c15ull + i;
		threads[i].ops = ops / THREADS;
		ASSERT_EQ(0, pthread_create(&threads[i].thread, NULL,
					    fuzz_thread_fn, &threads[i]));
	}
	for (i = 0; i != THREADS; i++) {
		ASSERT_EQ(0, pthread_join(threads[i].thread, NULL));
		for (op = 0; op != NR_OPS; op++) {
			done[op] += threads[i].done[op];
			succeeded[op] += threads[i].succeeded[op];
		}
	}
	printf("# %llu calls in %ld s\n", (unsigned long long)ops,
	       ms_since(&start) / 1000);
	for (op = 0; op != NR_OPS; op++)
		printf("# %-22s %8lu calls, %7lu succeeded\n", op_names[op],
		       done[op], succeeded[op]);

	for (i = 0; i != RECENT; i++)
		if (access_fds[i] > 0)
			close(access_fds[i]);
	if (mdev_fd >= 0)
		close(mdev_fd);
	close(iommufd);

	/* Everything went with the files: no pin, no charge left. */
	fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, md_check_refs(fd, anon, BUFFER_PAGES * page_size, 0));
	EXPECT_EQ(0, md_check_refs(fd, shared, BUFFER_PAGES * page_size, 0));
	EXPECT_EQ(0, md_check_refs(fd, scratch, 16 * page_size, 0));
	if (huge)
		EXPECT_EQ(0, md_check_refs(fd, huge, HUGE_SIZE, 0));
	/* The budget is global: the next program gets the default. */
	EXPECT_EQ(0, set_temp_memory_limit(fd, TEMP_MEMORY_DEFAULT));
	close(fd);
	EXPECT_EQ(vmpin, status_kb("VmPin:"));
	if (mdev_uuid[0]) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), MDEV_DEVICES "/%s/remove",
			 mdev_uuid);
		EXPECT_EQ(0, write_file(path, "1"));
	}
	if (huge)
		munmap(huge_area, 3 * HUGE_SIZE);
	if (pool >= 0) {
		char val[32];

		snprintf(val, sizeof(val), "%ld", pool);
		EXPECT_EQ(0, write_file(HUGEPAGES, val));
	}
	guarded_munmap(scratch, 16);
	guarded_munmap(shared, BUFFER_PAGES);
	guarded_munmap(anon, BUFFER_PAGES);
	close(memfd);
}

TEST_HARNESS_MAIN
