// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO's unsafe no-IOMMU mode, as DPDK uses it on machines without an
 * IOMMU: vfio-pci gives a device that no IOMMU translates a group of its
 * own, /dev/vfio/noiommu-N, whose container offers VFIO_NOIOMMU_IOMMU, and
 * the device does DMA to physical addresses. /dev/vfio/vfio served by
 * iommufd (vfio.iommufd_container=1) must serve such a group as VFIO's own
 * container does; each case of the noiommu fixture runs on both.
 *
 * The machine (harness/machines/noiommu.sh) has no IOMMU and boots with
 * vfio.enable_unsafe_noiommu_mode=1. Every case needs root: CAP_SYS_RAWIO
 * opens a no-IOMMU group, CAP_SYS_ADMIN reads physical addresses.
 */
#include <sys/wait.h>

#include "../kselftest_harness.h"
#include "vfio_edu_util.h"
#include "../../../../drivers/vfio/mdev/iommufd_test_mdev.h"

#define NOIOMMU_MODE "/sys/module/vfio/parameters/enable_unsafe_noiommu_mode"
#define NO_EDU "no edu device on this machine"
#define TEST_MDEV_CREATE "/sys/class/mdev_bus/" IOMMU_TEST_MDEV_PARENT \
	"/mdev_supported_types/" IOMMU_TEST_MDEV_TYPE "/create"
#define LEN 1024
/* Whether compaction may move mlock()ed pages; there is none without it. */
#define COMPACT_UNEVICTABLE "/proc/sys/vm/compact_unevictable_allowed"
/* Pages mapped to look among for two the edu can reach. */
#define POOL_PAGES 256

/* /dev/vfio/noiommu-N of @bdf, bound to vfio-pci. */
static int noiommu_group_open(const char *bdf)
{
	char path[PATH_MAX];
	int group, fd;

	group = pci_group(bdf);
	if (group < 0)
		return group;
	fmt_buf(path, sizeof(path), "/dev/vfio/noiommu-%d", group);
	fd = open(path, O_RDWR);
	return fd < 0 ? -errno : fd;
}

/* Make IOAS @ioas the compatibility IOAS (IOMMU_VFIO_IOAS_SET). */
static int compat_ioas_set(int iommufd, uint32_t ioas)
{
	struct iommu_vfio_ioas cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas,
		.op = IOMMU_VFIO_IOAS_SET,
	};

	return ioctl(iommufd, IOMMU_VFIO_IOAS, &cmd);
}

static int set_container(int groupfd, int container)
{
	return ioctl(groupfd, VFIO_GROUP_SET_CONTAINER, &container);
}

/* The physical address of the page at @va (mapped and locked), or 0. */
static uint64_t phys_addr(void *va, size_t page_size)
{
	uint64_t entry = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);
	off_t off = (uintptr_t)va / page_size * sizeof(entry);

	if (fd < 0)
		return 0;
	if (pread(fd, &entry, sizeof(entry), off) != sizeof(entry))
		entry = 0;
	close(fd);
	/* Bit 63: present; bits 0-54: the PFN (0 without CAP_SYS_ADMIN). */
	if (!(entry & (1ULL << 63)))
		return 0;
	return (entry & ((1ULL << 55) - 1)) * page_size;
}

FIXTURE(noiommu)
{
	char bdf[NAME_LEN];
	bool found;
	bool claimed;
	int container;
	int groupfd;
	int devfd;
	struct edu edu;
	uint8_t *pool;
	size_t page_size;
	char compact[8];	/* COMPACT_UNEVICTABLE to restore, if set */
};

FIXTURE_VARIANT(noiommu)
{
	bool iommufd;
};

/* VFIO's own container, with its no-IOMMU driver: the reference. */
FIXTURE_VARIANT_ADD(noiommu, container_vfio)
{
	.iommufd = false,
};

FIXTURE_VARIANT_ADD(noiommu, container_iommufd)
{
	.iommufd = true,
};

FIXTURE_SETUP(noiommu)
{
	char edus[4][NAME_LEN];
	char mode[8] = "";

	self->container = -1;
	self->groupfd = -1;
	self->devfd = -1;
	self->page_size = sysconf(_SC_PAGESIZE);
	if (edu_find(edus, 4) < 1)
		return;
	ASSERT_EQ(0, read_str(NOIOMMU_MODE, mode, sizeof(mode)));
	ASSERT_EQ('Y', mode[0]);
	memcpy(self->bdf, edus[0], NAME_LEN);
	ASSERT_EQ(0, vfio_pci_claim(self->bdf, &self->claimed));
	self->found = true;
	self->container = vfio_container_open(variant->iommufd);
	ASSERT_LE(0, self->container);
	self->groupfd = noiommu_group_open(self->bdf);
	ASSERT_LE(0, self->groupfd);
}

FIXTURE_TEARDOWN(noiommu)
{
	edu_close(&self->edu);
	if (self->devfd >= 0)
		close(self->devfd);
	if (self->groupfd >= 0)
		close(self->groupfd);
	if (self->container >= 0)
		close(self->container);
	if (self->pool && self->pool != MAP_FAILED)
		munmap(self->pool, POOL_PAGES * self->page_size);
	if (self->compact[0])
		EXPECT_EQ(0, write_file(COMPACT_UNEVICTABLE, self->compact));
	if (self->found)
		EXPECT_EQ(0, vfio_pci_release(self->bdf, self->claimed));
}

/*
 * A fresh container offers both kinds; one serving a no-IOMMU group offers
 * VFIO_NOIOMMU_IOMMU only, and coherency is not the IOMMU's to promise.
 */
TEST_F(noiommu, extensions)
{
	if (!self->found)
		SKIP(return, NO_EDU);
	EXPECT_EQ(1, ioctl(self->container, VFIO_CHECK_EXTENSION,
			   VFIO_NOIOMMU_IOMMU));
	EXPECT_EQ(1, ioctl(self->container, VFIO_CHECK_EXTENSION,
			   VFIO_TYPE1v2_IOMMU));

	ASSERT_EQ(0, set_container(self->groupfd, self->container));
	EXPECT_EQ(1, ioctl(self->container, VFIO_CHECK_EXTENSION,
			   VFIO_NOIOMMU_IOMMU));
	EXPECT_EQ(0, ioctl(self->container, VFIO_CHECK_EXTENSION,
			   VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(0, ioctl(self->container, VFIO_CHECK_EXTENSION,
			   VFIO_TYPE1_IOMMU));
	/* No type1 type: EINVAL from iommufd, as upstream's; VFIO: ENODEV. */
	EXPECT_ERRNO(variant->iommufd ? EINVAL : ENODEV,
		     ioctl(self->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, ioctl(self->container, VFIO_SET_IOMMU,
			   VFIO_NOIOMMU_IOMMU));
	/* Set once, as any IOMMU type of a container. */
	if (!variant->iommufd)
		EXPECT_ERRNO(EINVAL, ioctl(self->container, VFIO_SET_IOMMU,
					   VFIO_NOIOMMU_IOMMU));
}

/*
 * The whole of what DPDK does: group to container, VFIO_NOIOMMU_IOMMU,
 * the device file, and DMA both ways at physical addresses (below the
 * 256 MiB the edu reaches).
 */
TEST_F(noiommu, dma_at_physical_addresses)
{
	uint64_t src_pa = 0, dst_pa = 0, pa;
	uint8_t *src = NULL, *dst = NULL;
	unsigned int i;

	if (!self->found)
		SKIP(return, NO_EDU);
	ASSERT_EQ(0, set_container(self->groupfd, self->container));
	ASSERT_EQ(0, ioctl(self->container, VFIO_SET_IOMMU,
			   VFIO_NOIOMMU_IOMMU));
	self->devfd = ioctl(self->groupfd, VFIO_GROUP_GET_DEVICE_FD,
			    self->bdf);
	ASSERT_LE(0, self->devfd);
	ASSERT_EQ(0, edu_open(&self->edu, self->devfd));
	ASSERT_TRUE(edu_alive(&self->edu));

	/*
	 * Locked, and compaction told to leave locked pages alone: nothing
	 * may move a page the device was told about.
	 */
	if (!read_str(COMPACT_UNEVICTABLE, self->compact,
		      sizeof(self->compact)))
		ASSERT_EQ(0, write_file(COMPACT_UNEVICTABLE, "0"));
	self->pool = mmap(NULL, POOL_PAGES * self->page_size,
			  PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE |
			  MAP_LOCKED, -1, 0);
	ASSERT_NE(MAP_FAILED, self->pool);
	for (i = 0; i != POOL_PAGES && !dst; i++) {
		uint8_t *page = self->pool + i * self->page_size;

		pa = phys_addr(page, self->page_size);
		if (!pa || pa + self->page_size > EDU_IOVA_LIMIT)
			continue;
		if (!src) {
			src = page;
			src_pa = pa;
		} else {
			dst = page;
			dst_pa = pa;
		}
	}
	if (!dst)
		SKIP(return, "no two of %d pages below the edu's 256 MiB reach",
		     POOL_PAGES);

	for (i = 0; i != LEN; i++)
		src[i] = i * 7 + 3;
	memset(dst, 0, self->page_size);
	ASSERT_EQ(0, edu_dma_from_ram(&self->edu, src_pa, LEN));
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, dst_pa, LEN));
	EXPECT_EQ(0, memcmp(src, dst, LEN));
	/* Nothing past what was copied. */
	for (i = LEN; i != self->page_size; i++)
		if (dst[i])
			break;
	EXPECT_EQ(self->page_size, i);
}

/*
 * Without CAP_SYS_RAWIO, VFIO_NOIOMMU_IOMMU is refused (EPERM) on a
 * container that serves a no-IOMMU group, and the group does not open.
 */
TEST_F(noiommu, needs_rawio)
{
	int status;
	pid_t pid;

	if (!self->found)
		SKIP(return, NO_EDU);
	ASSERT_EQ(0, set_container(self->groupfd, self->container));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd;

		if (drop_effective_cap(CAP_SYS_RAWIO))
			_exit(1);
		if (ioctl(self->container, VFIO_SET_IOMMU,
			  VFIO_NOIOMMU_IOMMU) != -1 || errno != EPERM)
			_exit(2);
		fd = noiommu_group_open(self->bdf);
		if (fd != -EPERM)
			_exit(3);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* Still settable by the caller, who has it. */
	EXPECT_EQ(0, ioctl(self->container, VFIO_SET_IOMMU,
			   VFIO_NOIOMMU_IOMMU));
}

/*
 * Only the group opens a device without an IOMMU: it is registered with
 * VFIO (vfio-dev/vfioN in sysfs) but has no /dev/vfio/devices/vfioN, as
 * upstream.
 */
TEST_F(noiommu, no_device_cdev)
{
	char dir[PATH_MAX], name[NAME_LEN], path[PATH_MAX];
	char names[2][NAME_LEN];

	if (!self->found)
		SKIP(return, NO_EDU);
	if (variant->iommufd)
		SKIP(return, "the same device either way: checked once");
	ASSERT_EQ(0, fmt_buf(dir, sizeof(dir), PCI_DEVICES "/%s/vfio-dev",
			     self->bdf));
	ASSERT_EQ(1, dir_names(dir, names, 2));
	memcpy(name, names[0], NAME_LEN);
	ASSERT_EQ(0, strncmp(name, "vfio", 4));
	fmt_buf(path, sizeof(path), "%s/%s/dev", dir, name);
	EXPECT_NE(0, access(path, F_OK));
	fmt_buf(path, sizeof(path), "/dev/vfio/devices/%s", name);
	EXPECT_NE(0, access(path, F_OK));
}

/*
 * What only iommufd's container does: having no compatibility IOAS, it
 * answers the type1 and IOAS calls as upstream's does, and refuses to mix
 * a no-IOMMU group with translated DMA.
 */
FIXTURE(noiommu_iommufd)
{
	char bdf[NAME_LEN];
	bool found;
	bool claimed;
	int container;
	int groupfd;
};

FIXTURE_SETUP(noiommu_iommufd)
{
	char edus[4][NAME_LEN];

	self->container = -1;
	self->groupfd = -1;
	if (edu_find(edus, 4) < 1)
		return;
	memcpy(self->bdf, edus[0], NAME_LEN);
	ASSERT_EQ(0, vfio_pci_claim(self->bdf, &self->claimed));
	self->found = true;
	self->container = vfio_container_open(true);
	ASSERT_LE(0, self->container);
	self->groupfd = noiommu_group_open(self->bdf);
	ASSERT_LE(0, self->groupfd);
}

FIXTURE_TEARDOWN(noiommu_iommufd)
{
	if (self->groupfd >= 0)
		close(self->groupfd);
	if (self->container >= 0)
		close(self->container);
	if (self->found)
		EXPECT_EQ(0, vfio_pci_release(self->bdf, self->claimed));
}

/*
 * No compatibility IOAS: the type1 calls fail (ENODEV) and IOMMU_VFIO_IOAS
 * finds none. A compatibility IOAS set afterwards says
 * userspace expects translation: the device then does not open (EPERM).
 */
TEST_F(noiommu_iommufd, no_compat_ioas)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)&map,
		.iova = 0,
		.size = 4096,
	};
	uint32_t ioas;

	if (!self->found)
		SKIP(return, NO_EDU);
	ASSERT_EQ(0, set_container(self->groupfd, self->container));
	EXPECT_ERRNO(ENODEV, ioctl(self->container, VFIO_IOMMU_MAP_DMA,
				   &map));
	EXPECT_ERRNO(ENODEV, compat_ioas(self->container, &ioas));
	ASSERT_EQ(0, ioctl(self->container, VFIO_SET_IOMMU,
			   VFIO_NOIOMMU_IOMMU));

	ASSERT_EQ(0, ioas_alloc(self->container, &ioas));
	ASSERT_EQ(0, compat_ioas_set(self->container, ioas));
	EXPECT_ERRNO(EPERM, ioctl(self->groupfd, VFIO_GROUP_GET_DEVICE_FD,
				  self->bdf));
}

/*
 * A context with a compatibility IOAS does not take a no-IOMMU group
 * (EINVAL), which stays without a container.
 */
TEST_F(noiommu_iommufd, refused_beside_translation)
{
	uint32_t ioas, flags;

	if (!self->found)
		SKIP(return, NO_EDU);
	ASSERT_EQ(0, ioas_alloc(self->container, &ioas));
	ASSERT_EQ(0, compat_ioas_set(self->container, ioas));
	EXPECT_ERRNO(EINVAL, set_container(self->groupfd, self->container));
	ASSERT_EQ(0, group_status(self->groupfd, &flags));
	EXPECT_EQ(0, flags & VFIO_GROUP_FLAGS_CONTAINER_SET);
	/* Without it, the group joins a fresh container. */
	EXPECT_EQ(0, close(self->container));
	self->container = vfio_container_open(true);
	ASSERT_LE(0, self->container);
	EXPECT_EQ(0, set_container(self->groupfd, self->container));
}

/*
 * Nor does a context in no-IOMMU mode take a group whose DMA goes through
 * an IOAS (the test mdev's), even once userspace set a compatibility IOAS
 * (EINVAL), as upstream's.
 */
TEST_F(noiommu_iommufd, translated_group_refused)
{
	char uuid[64];
	uint32_t ioas;
	int mdev_group;

	if (!self->found)
		SKIP(return, NO_EDU);
	if (access(TEST_MDEV_CREATE, W_OK))
		SKIP(return, "no test mdev (CONFIG_IOMMUFD_TEST_MDEV)");
	ASSERT_EQ(0, set_container(self->groupfd, self->container));
	ASSERT_EQ(0, mdev_create(TEST_MDEV_CREATE, uuid, sizeof(uuid)));
	mdev_group = mdev_group_open(uuid);
	ASSERT_LE(0, mdev_group);
	EXPECT_ERRNO(EINVAL, set_container(mdev_group, self->container));
	ASSERT_EQ(0, ioas_alloc(self->container, &ioas));
	ASSERT_EQ(0, compat_ioas_set(self->container, ioas));
	EXPECT_ERRNO(EINVAL, set_container(mdev_group, self->container));
	close(mdev_group);
	EXPECT_EQ(0, mdev_remove(uuid));
}

TEST_HARNESS_MAIN
