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
 * What each call returned is not checked there: threads race on shared
 * objects, so no answer is wrong.
 *
 * The second test, fuzz.model, checks answers: one thread keeps a model of
 * its own IOASes and predicts each call's outcome (see "The model" below).
 *
 * IOMMUFD_FUZZ_SEED and IOMMUFD_FUZZ_OPS (the calls of all threads
 * together) set the run; "make fuzz SEED=... OPS=..." passes them.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
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
#define BYSTANDER_IOAS 2000	/* for IOMMU_IOAS_CHANGE_PROCESS to walk */
#define OWNED 1024		/* objects a thread made, for its sweeps */
#define SWEEP_EVERY 2048	/* calls between a thread's sweeps */
#define SWEEP_KEEP 64		/* the newest, which a sweep leaves alone */
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
	bool bystanders;	/* makes them half-way through */
	/* The IDs of the objects it made since its last sweep, oldest first. */
	uint32_t owned[OWNED];
	unsigned int nowned;
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
	if (t->nowned != OWNED)
		t->owned[t->nowned++] = id;
}

/*
 * Destroy what the thread made, but for the newest few: without it the
 * objects only the random destroys reach would pile up over a long run
 * (IOASes have no limit), and every call that walks them (such as
 * IOMMU_IOAS_CHANGE_PROCESS) would get slower and slower. Newest first,
 * so that an object goes before what it depends on; one still in use
 * (EBUSY) stays for the next sweep. Another thread's object that took a
 * freed ID may go too, as with any destroy of the fuzzer. Not counted.
 */
static void sweep(struct fuzz_thread *t)
{
	unsigned int i, kept;

	if (t->nowned <= SWEEP_KEEP)
		return;
	for (i = t->nowned - SWEEP_KEEP; i--;) {
		struct iommu_destroy cmd = {
			.size = sizeof(cmd), .id = t->owned[i],
		};

		if (!ioctl(iommufd, IOMMU_DESTROY, &cmd) || errno != EBUSY)
			t->owned[i] = 0;
	}
	/* Compact: the busy ones, then the newest, oldest first. */
	for (i = 0, kept = 0; i != t->nowned; i++)
		if (t->owned[i] || i >= t->nowned - SWEEP_KEEP)
			t->owned[kept++] = t->owned[i];
	t->nowned = kept;
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

/*
 * The calls; each returns the ioctl's result, or FUZZ_NOTHING when it
 * chose to do nothing, which the statistics do not count.
 */
#define FUZZ_NOTHING 1

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
			return FUZZ_NOTHING;
		fd = atomic_exchange(&access_fds[below(t, RECENT)], 0);
		return fd > 0 ? close(fd) : FUZZ_NOTHING;
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
			return FUZZ_NOTHING;
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

		/*
		 * Ours already, so nothing moves, but every IOAS is walked
		 * (the bystanders too) with new maps and pins held off.
		 */
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

/*
 * Thousands of IOASes, each mapping a page of the memfd, which every
 * IOMMU_IOAS_CHANGE_PROCESS walks while the threads map, copy, pin and
 * attach elsewhere; the threads reach some by ID too. Made half-way
 * through, as IOMMU_OPTION_RLIMIT_MODE can change only in an empty
 * context; a destroy of the other threads may take some.
 */
static void make_bystanders(void)
{
	unsigned int i;

	for (i = 0; i != BYSTANDER_IOAS; i++) {
		uint64_t iova = 0;
		uint32_t id;

		if (!ioas_alloc(iommufd, &id))
			map_file(iommufd, id, IOMMU_IOAS_MAP_FIXED_IOVA |
				 IOMMU_IOAS_MAP_READABLE, memfd,
				 (i % BUFFER_PAGES) * page_size, page_size,
				 &iova);
	}
}

static void *fuzz_thread_fn(void *arg)
{
	struct fuzz_thread *t = arg;
	unsigned long i;

	for (i = 0; i != t->ops; i++) {
		enum fuzz_op op = below(t, NR_OPS);
		int rc;

		if (i % SWEEP_EVERY == SWEEP_EVERY - 1)
			sweep(t);
		if (t->bystanders && i == t->ops / 2)
			make_bystanders();
		rc = fuzz_one(t, op);

		if (rc == FUZZ_NOTHING)
			continue;
		t->done[op]++;
		if (!rc)
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

/*
 * The model: one thread, its own context, a few IOASes, and a copy of what
 * each maps. Every call's outcome is predicted from the copy before it is
 * made: its errno, the IOVA the kernel chose (aligned, in the allowed
 * window, on no other mapping), the length an unmap reports, what a mock
 * page table maps (IOMMU_TEST_OP_MD_CHECK_MAP) and the bytes an access
 * reads or writes. The first difference fails the test and prints the
 * calls that led to it.
 *
 * The window each IOAS allows for kernel-chosen IOVAs lies inside the mock
 * IOMMU's aperture, and fixed IOVAs are picked there too, so that a mock
 * page table can join an IOAS whatever it maps.
 */
#define MODEL_IOAS 3
#define MODEL_AREAS 48
#define MODEL_LOG 24
#define MODEL_WINDOW_PAGES 256
#define MODEL_MAX_PAGES 8

enum model_op {
	M_ALLOC, M_DESTROY, M_MAP, M_UNMAP, M_COPY, M_DOMAIN, M_DOMAIN_GONE,
	M_CHECK_MAP, M_ACCESS, M_ACCESS_GONE, M_READ, M_WRITE, NR_MODEL_OPS
};

static const char *const model_op_names[NR_MODEL_OPS] = {
	"ioas_alloc", "ioas_destroy", "map", "unmap", "copy", "mock_domain",
	"mock_domain_destroy", "check_map", "create_access", "close_access",
	"access_read", "access_write",
};

struct model_area {
	uint64_t iova;
	uint64_t length;
	uint8_t *va;		/* the user memory it maps */
	bool write;		/* devices may write through it */
	bool pages_write;	/* its memory was mapped writable first */
};

struct model_ioas {
	uint32_t id;		/* 0: the slot is free */
	uint32_t stdev;		/* a mock device attached to it, or 0 */
	uint32_t hwpt;		/* that device's page table */
	int access_fd;		/* an access on it, or -1 */
	unsigned int nareas;
	struct model_area areas[MODEL_AREAS];	/* by IOVA */
	/*
	 * One of the last mappings that went: no page table may keep its
	 * memory at its IOVA while that is a hole.
	 */
	struct model_area gone;
};

struct model {
	struct fuzz_thread rng;
	int fd;
	uint64_t window;	/* the first IOVA of the window */
	struct model_ioas ioas[MODEL_IOAS];
	char log[MODEL_LOG][160];
	unsigned long nlog;
	unsigned long done[NR_MODEL_OPS];
	char why[160];		/* the first difference */
	/* What anon and shared must hold: the writes the model expects. */
	uint8_t *shadow_anon, *shadow_shared;
};

static void model_log(struct model *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->log[m->nlog++ % MODEL_LOG], sizeof(m->log[0]), fmt, ap);
	va_end(ap);
}

/*
 * The call's result against the model's: false, with the reason in m->why,
 * if they differ. @want is 0 or a positive errno.
 */
static bool model_expect(struct model *m, int rc, int want)
{
	int got = rc ? errno : 0;

	if (got == want)
		return true;
	snprintf(m->why, sizeof(m->why), "errno %d (%s), the model wants %d (%s)",
		 got, strerror(got), want, strerror(want));
	return false;
}

static bool model_differs(struct model *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->why, sizeof(m->why), fmt, ap);
	va_end(ap);
	return false;
}

/* The first area of @s ending at or after @iova. */
static unsigned int model_find(struct model_ioas *s, uint64_t iova)
{
	unsigned int i = 0;

	while (i < s->nareas && s->areas[i].iova + s->areas[i].length <= iova)
		i++;
	return i;
}

static bool model_overlaps(struct model_ioas *s, uint64_t iova, uint64_t len)
{
	unsigned int i = model_find(s, iova);

	return i < s->nareas && s->areas[i].iova < iova + len;
}

static void model_insert(struct model_ioas *s, struct model_area *a)
{
	unsigned int i = model_find(s, a->iova);

	memmove(&s->areas[i + 1], &s->areas[i],
		(s->nareas - i) * sizeof(*a));
	s->areas[i] = *a;
	s->nareas++;
}

/*
 * Where the kernel may put @len bytes of @uptr: the alignment it uses
 * (iopt_alloc_iova(): the length's, rounded up to a power of two, at most
 * 2 MiB and at most the user address's) and whether the window has a free
 * aligned range.
 */
static uint64_t model_align(uint64_t len, uint64_t uptr)
{
	uint64_t align = 1;

	while (align < len && align < (2ull << 20))
		align <<= 1;
	if (uptr && (uptr & -uptr) < align)
		align = uptr & -uptr;
	return align;
}

static bool model_has_hole(struct model *m, struct model_ioas *s,
			   uint64_t len, uint64_t align)
{
	uint64_t end = m->window + MODEL_WINDOW_PAGES * page_size, iova;

	for (iova = m->window; iova + len <= end; iova += align)
		if (!model_overlaps(s, iova, len))
			return true;
	return false;
}

static struct model_ioas *model_pick_ioas(struct model *m, bool live)
{
	unsigned int i, start = below(&m->rng, MODEL_IOAS);

	for (i = 0; i != MODEL_IOAS; i++) {
		struct model_ioas *s = &m->ioas[(start + i) % MODEL_IOAS];

		if (!!s->id == live)
			return s;
	}
	return NULL;
}

/* A fixed IOVA for @len bytes: often on or across what @s maps. */
static uint64_t model_pick_iova(struct model *m, struct model_ioas *s,
				uint64_t len)
{
	if (s->nareas && chance(&m->rng, 30)) {
		struct model_area *a = &s->areas[below(&m->rng, s->nareas)];

		return a->iova + below(&m->rng, a->length / page_size) *
					 page_size;
	}
	return m->window +
	       below(&m->rng, MODEL_WINDOW_PAGES - len / page_size + 1) *
		       page_size;
}

/*
 * Map @len bytes at @va (or copy them from @src at @src_iova) into @s at
 * a fixed or chosen IOVA, and check the outcome against the model. A copy
 * may ask for device writes only of memory first mapped writable
 * (@pages_write), whatever the source mapping allows.
 */
static bool model_add(struct model *m, struct model_ioas *s, uint8_t *va,
		      uint64_t len, bool pages_write, struct model_ioas *src,
		      uint64_t src_iova, int want_src)
{
	bool fixed = chance(&m->rng, 60), want_write = chance(&m->rng, 70);
	uint32_t flags = IOMMU_IOAS_MAP_READABLE |
			 (want_write ? IOMMU_IOAS_MAP_WRITEABLE : 0) |
			 (fixed ? IOMMU_IOAS_MAP_FIXED_IOVA : 0);
	uint64_t iova = fixed ? model_pick_iova(m, s, len) : 0, align;
	struct model_area a = { .length = len, .va = va };
	struct model_area slices[MODEL_AREAS];
	unsigned int n;
	int want, rc;

	/* In the kernel's order: the source, the IOVA, then the pages. */
	align = model_align(len, (uintptr_t)va);
	if (want_src)
		want = want_src;
	else if (fixed && model_overlaps(s, iova, len))
		want = EEXIST;
	else if (!fixed && !model_has_hole(m, s, len, align))
		want = ENOSPC;
	else if (src && want_write && !pages_write)
		want = EPERM;
	else
		want = 0;

	if (src) {
		struct iommu_ioas_copy cmd = {
			.size = sizeof(cmd),
			.flags = flags,
			.dst_ioas_id = s->id,
			.src_ioas_id = src->id,
			.length = len,
			.dst_iova = iova,
			.src_iova = src_iova,
		};

		model_log(m, "copy %#llx+%#llx of ioas %u to ioas %u at %s%#llx%s",
			  (unsigned long long)src_iova, (unsigned long long)len,
			  src->id, s->id, fixed ? "" : "~",
			  (unsigned long long)iova, want_write ? " rw" : "");
		rc = ioctl(m->fd, IOMMU_IOAS_COPY, &cmd);
		iova = cmd.dst_iova;
	} else {
		struct iommu_ioas_map cmd = {
			.size = sizeof(cmd),
			.flags = flags,
			.ioas_id = s->id,
			.user_va = (uintptr_t)va,
			.length = len,
			.iova = iova,
		};

		model_log(m, "map %p+%#llx%s into ioas %u at %s%#llx", va,
			  (unsigned long long)len, want_write ? " rw" : "",
			  s->id, fixed ? "" : "~", (unsigned long long)iova);
		rc = ioctl(m->fd, IOMMU_IOAS_MAP, &cmd);
		iova = cmd.iova;
	}
	if (!model_expect(m, rc, want))
		return false;
	if (rc)
		return true;
	if (!fixed && (iova % align || iova < m->window ||
		       iova + len > m->window + MODEL_WINDOW_PAGES * page_size ||
		       model_overlaps(s, iova, len)))
		return model_differs(m, "the kernel chose IOVA %#llx (align %#llx, window %#llx)",
				     (unsigned long long)iova,
				     (unsigned long long)align,
				     (unsigned long long)m->window);
	/*
	 * A copy makes one mapping per source mapping it takes from (each
	 * with its own memory), which a later unmap may separate.
	 */
	a.iova = iova;
	a.write = want_write;
	a.pages_write = want_write;
	slices[0] = a;
	n = 1;
	if (src) {
		uint64_t at = src_iova, end;

		for (n = 0; at < src_iova + len; n++, at = end) {
			struct model_area *from = &src->areas[model_find(src, at)];

			end = from->iova + from->length;
			if (end > src_iova + len)
				end = src_iova + len;
			slices[n] = (struct model_area){
				.iova = iova + (at - src_iova),
				.length = end - at,
				.va = from->va + (at - from->iova),
				.write = want_write,
				.pages_write = from->pages_write,
			};
		}
	}
	if (s->nareas + n > MODEL_AREAS) {
		/* Full: take it back, as the model cannot hold it. */
		struct iommu_ioas_unmap un = {
			.size = sizeof(un), .ioas_id = s->id,
			.iova = iova, .length = len,
		};

		if (ioctl(m->fd, IOMMU_IOAS_UNMAP, &un) || un.length != len)
			return model_differs(m, "could not take back a map");
		s->gone = slices[0];
		return true;
	}
	while (n--)
		model_insert(s, &slices[n]);
	return true;
}

/*
 * Whether [iova, iova + len) of @s is mapped with no hole; whether devices
 * may write to all of it, and whether all of its memory was mapped
 * writable first.
 */
static bool model_covered(struct model_ioas *s, uint64_t iova, uint64_t len,
			  bool *write, bool *pages_write)
{
	unsigned int i = model_find(s, iova);
	uint64_t at = iova;

	*write = *pages_write = true;
	for (; i < s->nareas && at < iova + len; i++) {
		if (s->areas[i].iova > at)
			return false;
		*write &= s->areas[i].write;
		*pages_write &= s->areas[i].pages_write;
		at = s->areas[i].iova + s->areas[i].length;
	}
	return at >= iova + len;
}

/* The user memory behind @iova of @s, which model_covered() vouched for. */
static uint8_t *model_va(struct model_ioas *s, uint64_t iova)
{
	struct model_area *a = &s->areas[model_find(s, iova)];

	return a->va + (iova - a->iova);
}

static bool model_unmap(struct model *m, struct model_ioas *s)
{
	struct iommu_ioas_unmap cmd = { .size = sizeof(cmd), .ioas_id = s->id };
	uint64_t want_len = 0, last;
	unsigned int i, first, n = 0;
	int want = 0, rc;

	if (chance(&m->rng, 5)) {
		cmd.iova = 0;
		cmd.length = UINT64_MAX;
	} else if (s->nareas && chance(&m->rng, 80)) {
		/* From the start of one area, to the end of it or a later one. */
		first = below(&m->rng, s->nareas);
		last = first + below(&m->rng, s->nareas - first < 3 ?
						s->nareas - first : 3);
		cmd.iova = s->areas[first].iova;
		cmd.length = s->areas[last].iova + s->areas[last].length -
			     cmd.iova;
		/* Sometimes cut into one at either end: nothing may go. */
		if (chance(&m->rng, 20) && s->areas[first].length > page_size) {
			cmd.iova += page_size;
			cmd.length -= page_size;
		} else if (chance(&m->rng, 20) &&
			   s->areas[last].length > page_size) {
			cmd.length -= page_size;
		}
	} else {
		cmd.iova = model_pick_iova(m, s, page_size);
		cmd.length = (1 + below(&m->rng, MODEL_MAX_PAGES)) * page_size;
	}

	/* What iopt_unmap_iova_range() does: whole areas only. */
	last = cmd.length == UINT64_MAX ? UINT64_MAX : cmd.iova + cmd.length - 1;
	first = model_find(s, cmd.iova);
	for (i = first; i < s->nareas && s->areas[i].iova <= last; i++) {
		struct model_area *a = &s->areas[i];

		if (a->iova < cmd.iova || a->iova + a->length - 1 > last)
			want = ENOENT;
		want_len += a->length;
		n++;
	}
	if (!want && !n && cmd.length != UINT64_MAX)
		want = ENOENT;

	model_log(m, "unmap %#llx+%#llx of ioas %u", (unsigned long long)cmd.iova,
		  (unsigned long long)cmd.length, s->id);
	rc = ioctl(m->fd, IOMMU_IOAS_UNMAP, &cmd);
	if (!model_expect(m, rc, want))
		return false;
	if (rc)
		return true;
	if (cmd.length != want_len)
		return model_differs(m, "unmapped %#llx bytes, the model %#llx",
				     (unsigned long long)cmd.length,
				     (unsigned long long)want_len);
	if (n)
		s->gone = s->areas[first + below(&m->rng, n)];
	memmove(&s->areas[first], &s->areas[first + n],
		(s->nareas - first - n) * sizeof(s->areas[0]));
	s->nareas -= n;
	return true;
}

/*
 * What iommufd_access_rw() answers, as a negative errno: it walks the
 * mappings from @iova on, and stops at the first that may not be written
 * (-EPERM) or the first hole (-ENOENT), whichever comes first.
 */
static int model_rw_errno(struct model_ioas *s, uint64_t iova, uint64_t len,
			  bool write, uint64_t *done)
{
	uint64_t at = iova;
	unsigned int i;

	for (i = model_find(s, at); at < iova + len; i++) {
		*done = at - iova;
		if (i == s->nareas || s->areas[i].iova > at)
			return -ENOENT;
		if (write && !s->areas[i].write)
			return -EPERM;
		at = s->areas[i].iova + s->areas[i].length;
	}
	*done = len;
	return 0;
}

/* Where the model keeps what the byte of user memory at @va must be. */
static uint8_t *model_shadow(struct model *m, uint8_t *va)
{
	if (va >= anon && va < anon + BUFFER_PAGES * page_size)
		return m->shadow_anon + (va - anon);
	return m->shadow_shared + (va - shared);
}

/* Each byte of both buffers is what the model wrote there, or the first. */
static bool model_check_memory(struct model *m)
{
	size_t len = BUFFER_PAGES * page_size, i;

	if (!memcmp(anon, m->shadow_anon, len) &&
	    !memcmp(shared, m->shadow_shared, len))
		return true;
	for (i = 0; i != len; i++) {
		if (anon[i] != m->shadow_anon[i])
			return model_differs(m, "anon byte %#zx is %#x, the model %#x",
					     i, anon[i], m->shadow_anon[i]);
		if (shared[i] != m->shadow_shared[i])
			return model_differs(m, "shared byte %#zx is %#x, the model %#x",
					     i, shared[i], m->shadow_shared[i]);
	}
	return true;
}

/* Read or write through the access of @s, and compare with the memory. */
static bool model_rw(struct model *m, struct model_ioas *s, bool write)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_ACCESS_RW,
		.id = s->access_fd,
		.access_rw.flags = write ? MOCK_ACCESS_RW_WRITE : 0,
	};
	uint8_t buf[256], *va;
	uint64_t done;
	unsigned int i;
	int want, rc;

	if (s->nareas && chance(&m->rng, 85)) {
		struct model_area *a = &s->areas[below(&m->rng, s->nareas)];

		cmd.access_rw.iova = a->iova + below(&m->rng, a->length);
	} else {
		cmd.access_rw.iova = model_pick_iova(m, s, page_size) +
				     below(&m->rng, page_size);
	}
	cmd.access_rw.length = 1 + below(&m->rng, sizeof(buf));
	cmd.access_rw.uptr = (uintptr_t)buf;
	for (i = 0; i != sizeof(buf); i++)
		buf[i] = rnd(&m->rng);

	want = -model_rw_errno(s, cmd.access_rw.iova, cmd.access_rw.length,
			       write, &done);
	model_log(m, "access %s %#llx+%llu of ioas %u", write ? "write" : "read",
		  (unsigned long long)cmd.access_rw.iova,
		  (unsigned long long)cmd.access_rw.length, s->id);
	rc = ioctl(m->fd, IOMMU_TEST_CMD, &cmd);
	if (!model_expect(m, rc, want))
		return false;
	/*
	 * The bytes may cross from one area (and its memory) to the next. A
	 * write that fails has written the areas before the one it stops at,
	 * and nothing else anywhere; a read that works read what was written.
	 */
	for (i = 0; i != done; i++) {
		va = model_shadow(m, model_va(s, cmd.access_rw.iova + i));
		if (write)
			*va = buf[i];
		else if (!rc && *va != buf[i])
			return model_differs(m, "byte %u: memory %#x, access %#x",
					     i, *va, buf[i]);
	}
	return !write || model_check_memory(m);
}

/*
 * What the mock page table holds: the memory of one mapping at its IOVA,
 * and not the memory of the last one gone where that is now a hole (a
 * stale entry would still point at it).
 */
static bool model_check_map(struct model *m, struct model_ioas *s)
{
	struct model_area *a = &s->gone;
	int rc;

	if (a->length && !model_overlaps(s, a->iova, page_size)) {
		model_log(m, "check page table %u has no %p at %#llx", s->hwpt,
			  a->va, (unsigned long long)a->iova);
		rc = md_check_map(m->fd, s->hwpt, a->iova, a->va, page_size);
		if (!model_expect(m, rc, EINVAL))
			return false;
	}
	if (!s->nareas)
		return true;
	a = &s->areas[below(&m->rng, s->nareas)];
	model_log(m, "check page table %u at %#llx+%#llx", s->hwpt,
		  (unsigned long long)a->iova, (unsigned long long)a->length);
	rc = md_check_map(m->fd, s->hwpt, a->iova, a->va, a->length);
	return model_expect(m, rc, 0);
}

static void model_close_access(struct model_ioas *s)
{
	if (s->access_fd >= 0)
		close(s->access_fd);
	s->access_fd = -1;
}

/* One call, or none; false if its outcome differs from the model's. */
static bool model_call(struct model *m, enum model_op op)
{
	struct iommu_test_cmd cmd = { .size = sizeof(cmd) };
	struct model_ioas *s = model_pick_ioas(m, op != M_ALLOC), *d;
	uint64_t len = (1 + below(&m->rng, MODEL_MAX_PAGES)) * page_size;
	uint64_t off, iova;
	bool write_ok, pages_write;
	int rc;

	if (!s)
		return true;
	switch (op) {
	case M_ALLOC: {
		struct iommu_iova_range window = {
			.start = m->window,
			.last = m->window + MODEL_WINDOW_PAGES * page_size - 1,
		};
		struct iommu_ioas_allow_iovas allow = {
			.size = sizeof(allow),
			.num_iovas = 1,
			.allowed_iovas = (uintptr_t)&window,
		};

		model_log(m, "ioas_alloc");
		if (!model_expect(m, ioas_alloc(m->fd, &s->id), 0))
			return false;
		allow.ioas_id = s->id;
		model_log(m, "allow_iovas of ioas %u", s->id);
		return model_expect(m, ioctl(m->fd, IOMMU_IOAS_ALLOW_IOVAS,
					     &allow), 0);
	}
	case M_DESTROY:
		model_log(m, "destroy ioas %u", s->id);
		rc = iommufd_destroy(m->fd, s->id);
		if (!model_expect(m, rc, s->stdev || s->access_fd >= 0 ?
						 EBUSY : 0))
			return false;
		if (!rc)
			*s = (struct model_ioas){ .access_fd = -1 };
		return true;
	case M_MAP:
		/* Anonymous memory or the memfd's. */
		off = below(&m->rng, BUFFER_PAGES - len / page_size + 1);
		return model_add(m, s, (chance(&m->rng, 50) ? anon : shared) +
				 off * page_size, len, false, NULL, 0, 0);
	case M_UNMAP:
		return model_unmap(m, s);
	case M_COPY:
		d = model_pick_ioas(m, true);
		if (s->nareas && chance(&m->rng, 85)) {
			struct model_area *a =
				&s->areas[below(&m->rng, s->nareas)];

			iova = a->iova + below(&m->rng, a->length / page_size) *
						 page_size;
		} else {
			iova = model_pick_iova(m, s, len);
		}
		if (!model_covered(s, iova, len, &write_ok, &pages_write))
			return model_add(m, d, NULL, len, false, s, iova,
					 ENOENT);
		return model_add(m, d, model_va(s, iova), len, pages_write, s,
				 iova, 0);
	case M_DOMAIN:
		if (s->stdev)
			return true;
		cmd.op = IOMMU_TEST_OP_MOCK_DOMAIN;
		cmd.id = s->id;
		model_log(m, "mock_domain on ioas %u", s->id);
		if (!model_expect(m, ioctl(m->fd, IOMMU_TEST_CMD, &cmd), 0))
			return false;
		s->stdev = cmd.mock_domain.out_stdev_id;
		s->hwpt = cmd.mock_domain.out_hwpt_id;
		return true;
	case M_DOMAIN_GONE:
		if (!s->stdev)
			return true;
		model_log(m, "destroy mock device %u", s->stdev);
		if (!model_expect(m, iommufd_destroy(m->fd, s->stdev), 0))
			return false;
		s->stdev = 0;
		s->hwpt = 0;
		return true;
	case M_CHECK_MAP:
		return !s->hwpt || model_check_map(m, s);
	case M_ACCESS:
		if (s->access_fd >= 0)
			return true;
		cmd.op = IOMMU_TEST_OP_CREATE_ACCESS;
		cmd.id = s->id;
		model_log(m, "create_access on ioas %u", s->id);
		if (!model_expect(m, ioctl(m->fd, IOMMU_TEST_CMD, &cmd), 0))
			return false;
		s->access_fd = cmd.create_access.out_access_fd;
		return true;
	case M_ACCESS_GONE:
		if (s->access_fd < 0)
			return true;
		model_log(m, "close access of ioas %u", s->id);
		model_close_access(s);
		return true;
	case M_READ:
	case M_WRITE:
		return s->access_fd < 0 || model_rw(m, s, op == M_WRITE);
	default:
		return true;
	}
}

FIXTURE(fuzz)
{
	int unused;
};

/* Both tests map and pin the same buffers: anonymous memory and a memfd's. */
FIXTURE_SETUP(fuzz)
{
	page_size = sysconf(_SC_PAGESIZE);
	anon = guarded_mmap(BUFFER_PAGES, -1);
	ASSERT_NE(MAP_FAILED, anon);
	memfd = memfd_create("iommufd_fuzz", 0);
	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, BUFFER_PAGES * page_size));
	shared = guarded_mmap(BUFFER_PAGES, memfd);
	ASSERT_NE(MAP_FAILED, shared);
}

FIXTURE_TEARDOWN(fuzz)
{
	guarded_munmap(shared, BUFFER_PAGES);
	guarded_munmap(anon, BUFFER_PAGES);
	close(memfd);
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
		threads[i].bystanders = !i;
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
}

/* One step; the statistics count the steps that made a call (logged it). */
static bool model_one(struct model *m, enum model_op op)
{
	unsigned long logged = m->nlog;
	bool same = model_call(m, op);

	if (m->nlog != logged)
		m->done[op]++;
	return same;
}

/* How often the model makes each call, out of the sum. */
static const unsigned int model_weights[NR_MODEL_OPS] = {
	[M_ALLOC] = 3, [M_DESTROY] = 2, [M_MAP] = 20, [M_UNMAP] = 15,
	[M_COPY] = 10, [M_DOMAIN] = 3, [M_DOMAIN_GONE] = 2, [M_CHECK_MAP] = 10,
	[M_ACCESS] = 3, [M_ACCESS_GONE] = 2, [M_READ] = 15, [M_WRITE] = 15,
};

static enum model_op model_pick_op(struct model *m)
{
	unsigned int sum = 0, op, n;

	for (op = 0; op != NR_MODEL_OPS; op++)
		sum += model_weights[op];
	n = below(&m->rng, sum);
	for (op = 0; n >= model_weights[op]; op++)
		n -= model_weights[op];
	return op;
}

/*
 * The model's run: a quarter of IOMMUFD_FUZZ_OPS calls, each checked as
 * it returns; then, with every file closed, nothing may stay pinned.
 */
TEST_F_TIMEOUT(fuzz, model, 3600)
{
	uint64_t seed = env_u64("IOMMUFD_FUZZ_SEED", DEFAULT_SEED);
	uint64_t ops = env_u64("IOMMUFD_FUZZ_OPS", DEFAULT_OPS) / 4;
	long vmpin = status_kb("VmPin:");
	struct model *m;
	unsigned long i;
	unsigned int j;
	int fd;

	m = calloc(1, sizeof(*m));
	ASSERT_NE(NULL, m);
	m->rng.rng = (seed + 1) * 0x9e3779b97f4a7c15ull + THREADS;
	m->shadow_anon = malloc(BUFFER_PAGES * page_size);
	m->shadow_shared = malloc(BUFFER_PAGES * page_size);
	ASSERT_TRUE(m->shadow_anon && m->shadow_shared);
	for (j = 0; j != BUFFER_PAGES * page_size; j++) {
		anon[j] = rnd(&m->rng);
		shared[j] = rnd(&m->rng);
	}
	memcpy(m->shadow_anon, anon, BUFFER_PAGES * page_size);
	memcpy(m->shadow_shared, shared, BUFFER_PAGES * page_size);
	m->window = MOCK_APERTURE_START;
	for (j = 0; j != MODEL_IOAS; j++)
		m->ioas[j].access_fd = -1;
	m->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, m->fd);

	printf("# model: seed %llu, %llu calls\n", (unsigned long long)seed,
	       (unsigned long long)ops);
	for (i = 0; i != ops; i++) {
		if (model_one(m, model_pick_op(m)))
			continue;
		for (j = m->nlog > MODEL_LOG ? m->nlog - MODEL_LOG : 0;
		     j != m->nlog; j++)
			printf("# %s\n", m->log[j % MODEL_LOG]);
		ASSERT_TRUE(false)
			TH_LOG("call %lu differs from the model: %s", i, m->why);
	}
	for (j = 0; j != NR_MODEL_OPS; j++)
		printf("# model: %-20s %8lu calls\n", model_op_names[j],
		       m->done[j]);

	for (j = 0; j != MODEL_IOAS; j++)
		model_close_access(&m->ioas[j]);
	close(m->fd);
	fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, md_check_refs(fd, anon, BUFFER_PAGES * page_size, 0));
	EXPECT_EQ(0, md_check_refs(fd, shared, BUFFER_PAGES * page_size, 0));
	close(fd);
	EXPECT_EQ(vmpin, status_kb("VmPin:"));
	free(m->shadow_anon);
	free(m->shadow_shared);
	free(m);
}

TEST_HARNESS_MAIN
