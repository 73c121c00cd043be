// SPDX-License-Identifier: GPL-2.0-only
/*
 * An emulated VFIO device, the test mdev of CONFIG_IOMMUFD_TEST, pinning
 * and copying user memory through each IOMMU backend VFIO offers it:
 *
 *  - its cdev bound to /dev/iommu, attached to an IOAS;
 *  - its group given /dev/iommu, on the compatibility IOAS;
 *  - its group in a /dev/vfio/vfio container served by iommufd;
 *  - its group in a /dev/vfio/vfio container served by type1.
 *
 * The driver only calls vfio_pin_pages(), vfio_unpin_pages() and
 * vfio_dma_rw(); on the iommufd backends these go through an access object.
 * The tests check what the driver reads and writes is the process's memory,
 * that an unmap makes VFIO call the driver's dma_unmap() before it returns,
 * and that failed calls leave no pin and no charge behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "vfio_edu_util.h"
#include "../../../../drivers/vfio/mdev/iommufd_test_mdev.h"

#define MDEV_BUS	"/sys/class/mdev_bus/" IOMMU_TEST_MDEV_PARENT
#define MDEV_CREATE	MDEV_BUS "/mdev_supported_types/" \
			IOMMU_TEST_MDEV_TYPE "/create"
#define NO_MDEV		"no " IOMMU_TEST_MDEV_PARENT \
			" mdev parent (CONFIG_IOMMUFD_TEST_MDEV)"

#define IOVA		0x100000ULL
#define IOVA_OTHER	0x400000ULL
#define PAGES		4

static size_t page_size;
static long page_kb;

/* Bytes that differ from byte to byte and from @seed to @seed. */
static void fill(uint8_t *buf, size_t len, uint8_t seed)
{
	size_t i;

	for (i = 0; i != len; i++)
		buf[i] = seed + i * 7 + (i >> 9);
}

/* Open the mdev's cdev, /dev/vfio/devices/vfioN: an fd or -errno. */
static int mdev_cdev_open(const char *uuid)
{
	char dir[PATH_MAX];
	int rc;

	rc = fmt_buf(dir, sizeof(dir), MDEV_DEVICES "/%s", uuid);
	return rc ? rc : vfio_cdev_open_of(dir);
}

/* One IOMMU_TEST_MDEV_CMD; *@cmd gets the counters back. */
static int mdev_cmd(int devfd, uint32_t op, uint32_t flags, uint64_t iova,
		    uint64_t length, void *uptr, struct iommu_test_mdev_cmd *cmd)
{
	*cmd = (struct iommu_test_mdev_cmd){
		.size = sizeof(*cmd),
		.op = op,
		.flags = flags,
		.iova = iova,
		.length = length,
		.uptr = (uintptr_t)uptr,
	};
	return ioctl(devfd, IOMMU_TEST_MDEV_CMD, cmd);
}

/* Where and how the test maps memory for the device. */
struct mdev_iommu {
	int fd;			/* /dev/iommu, or the container */
	bool type1;		/* maps with type1's ioctls on a container */
	uint32_t ioas;		/* else maps into this IOAS */
};

/* Map @len bytes at @va to @iova the way the backend's users do. */
static int mdev_map(const struct mdev_iommu *io, void *va, uint64_t len,
		    uint64_t iova, bool writeable)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ |
			 (writeable ? VFIO_DMA_MAP_FLAG_WRITE : 0),
		.vaddr = (uintptr_t)va,
		.iova = iova,
		.size = len,
	};
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 (writeable ? IOMMU_IOAS_MAP_WRITEABLE : 0),
		.ioas_id = io->ioas,
		.user_va = (uintptr_t)va,
		.length = len,
		.iova = iova,
	};

	if (io->type1)
		return ioctl(io->fd, VFIO_IOMMU_MAP_DMA, &map);
	return ioctl(io->fd, IOMMU_IOAS_MAP, &cmd);
}

/* Unmap [@iova, @iova + @len); *@unmapped: how much was mapped there. */
static int mdev_unmap(const struct mdev_iommu *io, uint64_t iova,
		      uint64_t len, uint64_t *unmapped)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = len,
	};
	int rc;

	if (!io->type1)
		return ioas_unmap(io->fd, io->ioas, iova, len, unmapped);
	rc = ioctl(io->fd, VFIO_IOMMU_UNMAP_DMA, &unmap);
	if (!rc)
		*unmapped = unmap.size;
	return rc;
}

enum mdev_backend {
	MDEV_CDEV,
	MDEV_GROUP_IOMMUFD,
	MDEV_CONTAINER_IOMMUFD,
	MDEV_CONTAINER_TYPE1,
};

FIXTURE(mdev)
{
	bool found;
	char uuid[NAME_LEN + 8];
	int iommufd;		/* /dev/iommu */
	int container;		/* /dev/vfio/vfio, either provider */
	int groupfd;
	int devfd;
	struct mdev_iommu io;
	uint8_t *mem;		/* PAGES pages to map */
	const char *charge;	/* the variant's */
	struct iommu_test_mdev_cmd cmd;
};

FIXTURE_VARIANT(mdev)
{
	enum mdev_backend backend;
	/* What the driver's pin or copy of unmapped IOVA gets. */
	int unmapped_errno;
	/*
	 * The /proc/self/status line that counts the driver's pins whatever
	 * the process's capabilities: iommufd always adds them to VmPin,
	 * type1 to VmLck.
	 */
	const char *charge;
};

FIXTURE_VARIANT_ADD(mdev, cdev)
{
	.backend = MDEV_CDEV,
	.unmapped_errno = ENOENT,
	.charge = "VmPin:",
};

FIXTURE_VARIANT_ADD(mdev, group_iommufd)
{
	.backend = MDEV_GROUP_IOMMUFD,
	.unmapped_errno = ENOENT,
	.charge = "VmPin:",
};

FIXTURE_VARIANT_ADD(mdev, container_iommufd)
{
	.backend = MDEV_CONTAINER_IOMMUFD,
	.unmapped_errno = ENOENT,
	.charge = "VmPin:",
};

FIXTURE_VARIANT_ADD(mdev, container_type1)
{
	.backend = MDEV_CONTAINER_TYPE1,
	.unmapped_errno = EINVAL,
	.charge = "VmLck:",
};

FIXTURE_SETUP(mdev)
{
	uint32_t id;

	self->iommufd = -1;
	self->container = -1;
	self->groupfd = -1;
	self->devfd = -1;
	page_size = sysconf(_SC_PAGESIZE);
	page_kb = page_size / 1024;
	self->charge = variant->charge;
	self->mem = mmap(NULL, PAGES * page_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);

	self->found = !access(MDEV_BUS, F_OK);
	if (!self->found)
		return;
	ASSERT_EQ(0, mdev_create(MDEV_CREATE, self->uuid, sizeof(self->uuid)));

	switch (variant->backend) {
	case MDEV_CDEV:
		self->iommufd = open("/dev/iommu", O_RDWR);
		ASSERT_LE(0, self->iommufd);
		self->devfd = mdev_cdev_open(self->uuid);
		ASSERT_LE(0, self->devfd);
		ASSERT_EQ(0, vfio_bind(self->devfd, self->iommufd, &id));
		ASSERT_EQ(0, ioas_alloc(self->iommufd, &self->io.ioas));
		id = self->io.ioas;
		ASSERT_EQ(0, vfio_attach(self->devfd, &id));
		/* An access does not pick a page table: the ID stays. */
		EXPECT_EQ(self->io.ioas, id);
		self->io.fd = self->iommufd;
		return;
	case MDEV_GROUP_IOMMUFD:
		self->iommufd = open("/dev/iommu", O_RDWR);
		ASSERT_LE(0, self->iommufd);
		self->groupfd = mdev_group_open(self->uuid);
		ASSERT_LE(0, self->groupfd);
		ASSERT_EQ(0, ioctl(self->groupfd, VFIO_GROUP_SET_CONTAINER,
				   &self->iommufd));
		ASSERT_EQ(0, compat_ioas(self->iommufd, &self->io.ioas));
		self->io.fd = self->iommufd;
		break;
	case MDEV_CONTAINER_IOMMUFD:
	case MDEV_CONTAINER_TYPE1:
		self->container = vfio_container_open(variant->backend ==
						      MDEV_CONTAINER_IOMMUFD);
		ASSERT_LE(0, self->container);
		self->groupfd = mdev_group_open(self->uuid);
		ASSERT_LE(0, self->groupfd);
		ASSERT_EQ(0, ioctl(self->groupfd, VFIO_GROUP_SET_CONTAINER,
				   &self->container));
		ASSERT_EQ(0, ioctl(self->container, VFIO_SET_IOMMU,
				   VFIO_TYPE1v2_IOMMU));
		self->io.fd = self->container;
		self->io.type1 = true;
		break;
	}
	self->devfd = ioctl(self->groupfd, VFIO_GROUP_GET_DEVICE_FD,
			    self->uuid);
	ASSERT_LE(0, self->devfd);
}

FIXTURE_TEARDOWN(mdev)
{
	if (self->devfd >= 0)
		close(self->devfd);
	if (self->groupfd >= 0)
		close(self->groupfd);
	if (self->container >= 0)
		close(self->container);
	if (self->iommufd >= 0)
		close(self->iommufd);
	if (self->found)
		EXPECT_EQ(0, mdev_remove(self->uuid));
	munmap(self->mem, PAGES * page_size);
}

/*
 * The pages the driver pins are the process's: what it reads through them
 * is what the process wrote, and what it writes the process reads. The
 * pins are charged to the process until unpinned. vfio_dma_rw() reaches
 * the same memory, pinned or not, at any alignment, also from a kernel
 * thread.
 */
TEST_F(mdev, pin_and_copy)
{
	size_t len = PAGES * page_size;
	uint8_t *buf = malloc(len);
	long before;

	if (!self->found)
		SKIP(return, NO_MDEV);
	ASSERT_NE(NULL, buf);
	fill(self->mem, len, 1);
	ASSERT_EQ(0, mdev_map(&self->io, self->mem, len, IOVA, true));
	before = status_kb(self->charge);

	ASSERT_EQ(0, mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_PIN,
			      IOMMU_TEST_MDEV_WRITE, IOVA + page_size,
			      2 * page_size, NULL, &self->cmd));
	EXPECT_EQ(1, self->cmd.out_pins);
	EXPECT_EQ(before + 2 * page_kb, status_kb(self->charge));

	/* Read across the two pinned pages, off their boundaries. */
	ASSERT_EQ(0, mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_PINNED_RW, 0,
			      IOVA + page_size + 100, page_size, buf,
			      &self->cmd));
	EXPECT_EQ(0, memcmp(buf, self->mem + page_size + 100, page_size));
	fill(buf, len, 2);
	ASSERT_EQ(0, mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_PINNED_RW,
			      IOMMU_TEST_MDEV_WRITE, IOVA + 2 * page_size - 8,
			      16, buf, &self->cmd));
	EXPECT_EQ(0, memcmp(buf, self->mem + 2 * page_size - 8, 16));
	/* Outside the pinned range the driver has no pages. */
	EXPECT_ERRNO(ENOENT, mdev_cmd(self->devfd,
				      IOMMU_TEST_MDEV_OP_PINNED_RW, 0, IOVA,
				      16, buf, &self->cmd));

	/* vfio_dma_rw() over pinned and unpinned pages alike. */
	ASSERT_EQ(0, mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_DMA_RW, 0,
			      IOVA + 3, len - 5, buf, &self->cmd));
	EXPECT_EQ(0, memcmp(buf, self->mem + 3, len - 5));
	fill(buf, len, 3);
	ASSERT_EQ(0, mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_DMA_RW,
			      IOMMU_TEST_MDEV_WRITE, IOVA + 1, len - 1, buf,
			      &self->cmd));
	EXPECT_EQ(0, memcmp(buf, self->mem + 1, len - 1));

	ASSERT_EQ(0, mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_UNPIN, 0,
			      IOVA + page_size, 0, NULL, &self->cmd));
	EXPECT_EQ(0, self->cmd.out_pins);
	EXPECT_EQ(0, self->cmd.out_unmaps);
	EXPECT_EQ(before, status_kb(self->charge));

	/*
	 * A driver may copy from a kernel thread, which has no mm (a
	 * mediated GPU's scheduler does): vfio_dma_rw() reaches the memory
	 * of the process that mapped it all the same, and leaves no pin.
	 */
	ASSERT_EQ(0, mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_DMA_RW,
			      IOMMU_TEST_MDEV_KTHREAD, IOVA + 7, len - 9, buf,
			      &self->cmd));
	EXPECT_EQ(0, memcmp(buf, self->mem + 7, len - 9));
	fill(buf, len, 4);
	ASSERT_EQ(0, mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_DMA_RW,
			      IOMMU_TEST_MDEV_WRITE | IOMMU_TEST_MDEV_KTHREAD,
			      IOVA + 1, len - 1, buf, &self->cmd));
	EXPECT_EQ(0, memcmp(buf, self->mem + 1, len - 1));
	EXPECT_EQ(0, self->cmd.out_pins);
	EXPECT_EQ(before, status_kb(self->charge));
	/* Only vfio_dma_rw() is done by a kernel thread. */
	EXPECT_ERRNO(EINVAL, mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_PIN,
				      IOMMU_TEST_MDEV_KTHREAD, IOVA, page_size,
				      NULL, &self->cmd));
	free(buf);
}

/*
 * A driver may pin at a byte address (s390's vfio-ap and vfio-ccw do): the
 * pages are those from the one the address is in, on every backend, and
 * the driver finds its data at the address's offset in the first.
 */
TEST_F(mdev, pin_unaligned)
{
	uint8_t buf[64];
	long before;

	if (!self->found)
		SKIP(return, NO_MDEV);
	fill(self->mem, PAGES * page_size, 4);
	ASSERT_EQ(0, mdev_map(&self->io, self->mem, PAGES * page_size, IOVA,
			      true));
	before = status_kb(self->charge);
	ASSERT_EQ(0, mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_PIN, 0,
			      IOVA + page_size + 100, 2 * page_size, NULL,
			      &self->cmd));
	EXPECT_EQ(1, self->cmd.out_pins);
	EXPECT_EQ(before + 2 * page_kb, status_kb(self->charge));
	ASSERT_EQ(0, mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_PINNED_RW, 0,
			      IOVA + page_size + 100, sizeof(buf), buf,
			      &self->cmd));
	EXPECT_EQ(0, memcmp(buf, self->mem + page_size + 100, sizeof(buf)));
	ASSERT_EQ(0, mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_UNPIN, 0,
			      IOVA + page_size + 100, 0, NULL, &self->cmd));
	EXPECT_EQ(0, self->cmd.out_pins);
	EXPECT_EQ(before, status_kb(self->charge));
}

/*
 * Unmapping IOVA the driver pinned calls its dma_unmap() for the range,
 * before the unmap returns, and only for the pins inside it.
 */
TEST_F(mdev, unmap_notifies)
{
	uint64_t unmapped = 0;
	long before;

	if (!self->found)
		SKIP(return, NO_MDEV);
	/*
	 * 6.1's type1 calls dma_unmap() holding its device_list_lock, which
	 * it otherwise takes inside its iommu->lock, and the driver's unpin
	 * takes iommu->lock: lockdep reports the inversion in the base kernel.
	 */
	if (variant->backend == MDEV_CONTAINER_TYPE1)
		SKIP(return, "type1's dma_unmap() lock inversion (base kernel)");
	/* Two mappings: type1 v2 does not unmap part of one. */
	ASSERT_EQ(0, mdev_map(&self->io, self->mem, 2 * page_size, IOVA,
			      true));
	ASSERT_EQ(0, mdev_map(&self->io, self->mem + 2 * page_size,
			      page_size, IOVA_OTHER, true));
	before = status_kb(self->charge);
	ASSERT_EQ(0, mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_PIN, 0, IOVA,
			      2 * page_size, NULL, &self->cmd));
	ASSERT_EQ(0, mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_PIN,
			      IOMMU_TEST_MDEV_WRITE, IOVA_OTHER, page_size,
			      NULL, &self->cmd));
	EXPECT_EQ(2, self->cmd.out_pins);
	EXPECT_EQ(before + 3 * page_kb, status_kb(self->charge));

	ASSERT_EQ(0, mdev_unmap(&self->io, IOVA_OTHER, page_size,
				&unmapped));
	EXPECT_EQ(page_size, unmapped);
	ASSERT_EQ(0, mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_STATUS, 0, 0, 0,
			      NULL, &self->cmd));
	EXPECT_EQ(1, self->cmd.out_pins);
	EXPECT_EQ(1, self->cmd.out_unmaps);
	EXPECT_EQ(before + 2 * page_kb, status_kb(self->charge));

	/* Gone is gone: the IOVA no longer pins. */
	EXPECT_ERRNO(variant->unmapped_errno,
		     mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_PIN, 0,
			      IOVA_OTHER, page_size, NULL, &self->cmd));
	EXPECT_ERRNO(variant->unmapped_errno,
		     mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_DMA_RW, 0,
			      IOVA_OTHER, 8, self->mem, &self->cmd));

	ASSERT_EQ(0, mdev_unmap(&self->io, IOVA, 2 * page_size,
				&unmapped));
	EXPECT_EQ(2 * page_size, unmapped);
	ASSERT_EQ(0, mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_STATUS, 0, 0, 0,
			      NULL, &self->cmd));
	EXPECT_EQ(0, self->cmd.out_pins);
	EXPECT_EQ(2, self->cmd.out_unmaps);
	EXPECT_EQ(before, status_kb(self->charge));
}

/*
 * Closing the device gives its pins up: those the driver drops in its
 * close_device(), and one it keeps for dma_unmap(), which the detach of
 * an iommufd-bound device's access calls while VFIO still counts the
 * device open (type1 calls none after the close, so nothing is kept
 * there). The maps then unmap untouched.
 */
TEST_F(mdev, close_unpins)
{
	uint32_t keep = variant->backend == MDEV_CONTAINER_TYPE1 ?
				0 : IOMMU_TEST_MDEV_KEEP;
	uint64_t unmapped = 0;
	long before;

	if (!self->found)
		SKIP(return, NO_MDEV);
	ASSERT_EQ(0, mdev_map(&self->io, self->mem, PAGES * page_size,
			      IOVA, true));
	before = status_kb(self->charge);
	if (!keep)
		EXPECT_ERRNO(EINVAL, mdev_cmd(self->devfd,
					      IOMMU_TEST_MDEV_OP_PIN,
					      IOMMU_TEST_MDEV_KEEP, IOVA,
					      page_size, NULL, &self->cmd));
	ASSERT_EQ(0, mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_PIN, 0, IOVA,
			      (PAGES - 1) * page_size, NULL, &self->cmd));
	ASSERT_EQ(0, mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_PIN, keep,
			      IOVA + (PAGES - 1) * page_size, page_size, NULL,
			      &self->cmd));
	EXPECT_EQ(before + PAGES * page_kb, status_kb(self->charge));

	close(self->devfd);
	self->devfd = -1;
	EXPECT_EQ(before, status_kb(self->charge));
	ASSERT_EQ(0, mdev_unmap(&self->io, IOVA, PAGES * page_size,
				&unmapped));
	EXPECT_EQ(PAGES * page_size, unmapped);
}

/*
 * Moving a device file's access off its IOAS asks the driver to unpin only
 * where accesses pin, once per run of pinned mappings: a driver may walk
 * the range it is told page by page (6.1's kvmgt does), and for all of the
 * IOVA space that walk would not end. With nothing pinned, the driver is
 * not called at all. The group paths detach at close only, where the
 * driver's counters cannot be read.
 */
TEST_F(mdev, detach_asks_for_pinned_only)
{
	uint32_t ioas = self->io.ioas, other_ioas, id;
	unsigned int calls;

	if (!self->found)
		SKIP(return, NO_MDEV);
	if (variant->backend != MDEV_CDEV)
		SKIP(return, "a group's device detaches only when closed");
	ASSERT_EQ(0, mdev_map(&self->io, self->mem, 2 * page_size, IOVA,
			      true));
	ASSERT_EQ(0, mdev_map(&self->io, self->mem + 2 * page_size,
			      page_size, IOVA + 2 * page_size, true));
	ASSERT_EQ(0, mdev_map(&self->io, self->mem + 3 * page_size,
			      page_size, IOVA_OTHER, true));
	ASSERT_EQ(0, mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_PIN, 0,
			      IOVA + page_size, 2 * page_size, NULL,
			      &self->cmd));
	calls = self->cmd.out_unmap_calls;

	/* Both mappings the pin crosses, as one range; not IOVA_OTHER. */
	ASSERT_EQ(0, vfio_detach(self->devfd));
	ASSERT_EQ(0, mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_STATUS, 0, 0, 0,
			      NULL, &self->cmd));
	EXPECT_EQ(0, self->cmd.out_pins);
	EXPECT_EQ(calls + 1, self->cmd.out_unmap_calls);
	EXPECT_EQ(IOVA, self->cmd.out_unmap_iova);
	EXPECT_EQ(3 * page_size, self->cmd.out_unmap_length);

	/* Nothing pinned: no call. */
	id = ioas;
	ASSERT_EQ(0, vfio_attach(self->devfd, &id));
	ASSERT_EQ(0, vfio_detach(self->devfd));
	ASSERT_EQ(0, mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_STATUS, 0, 0, 0,
			      NULL, &self->cmd));
	EXPECT_EQ(calls + 1, self->cmd.out_unmap_calls);

	/* A replace asks the same of the IOAS it leaves. */
	id = ioas;
	ASSERT_EQ(0, vfio_attach(self->devfd, &id));
	ASSERT_EQ(0, mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_PIN, 0,
			      IOVA_OTHER, page_size, NULL, &self->cmd));
	ASSERT_EQ(0, ioas_alloc(self->iommufd, &other_ioas));
	id = other_ioas;
	ASSERT_EQ(0, vfio_attach(self->devfd, &id));
	ASSERT_EQ(0, mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_STATUS, 0, 0, 0,
			      NULL, &self->cmd));
	EXPECT_EQ(0, self->cmd.out_pins);
	EXPECT_EQ(calls + 2, self->cmd.out_unmap_calls);
	EXPECT_EQ(IOVA_OTHER, self->cmd.out_unmap_iova);
	EXPECT_EQ(page_size, self->cmd.out_unmap_length);
	ASSERT_EQ(0, vfio_detach(self->devfd));
}

/*
 * VFIO counts the device open while its driver opens it: a copy from
 * open_device() gets the backend's answer for unmapped IOVA, not the
 * EINVAL (and warning) of a device VFIO thinks closed.
 */
TEST_F(mdev, open_device_may_copy)
{
	if (!self->found)
		SKIP(return, NO_MDEV);
	ASSERT_EQ(0, mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_STATUS, 0, 0, 0,
			      NULL, &self->cmd));
	EXPECT_EQ(-variant->unmapped_errno, self->cmd.out_open_rw);
}

/*
 * Calls the backend refuses leave nothing pinned and nothing charged: a
 * write pin or copy of a read-only map, IOVA not or partly mapped.
 */
TEST_F(mdev, bad_input)
{
	uint8_t buf[16];
	long before;

	if (!self->found)
		SKIP(return, NO_MDEV);
	ASSERT_EQ(0, mdev_map(&self->io, self->mem, 2 * page_size, IOVA,
			      true));
	ASSERT_EQ(0, mdev_map(&self->io, self->mem + 2 * page_size,
			      page_size, IOVA_OTHER, false));
	before = status_kb(self->charge);

	EXPECT_ERRNO(EPERM, mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_PIN,
				     IOMMU_TEST_MDEV_WRITE, IOVA_OTHER,
				     page_size, NULL, &self->cmd));
	EXPECT_ERRNO(EPERM, mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_DMA_RW,
				     IOMMU_TEST_MDEV_WRITE, IOVA_OTHER + 8,
				     sizeof(buf), buf, &self->cmd));
	/* The first two pages are mapped, the third is not. */
	EXPECT_ERRNO(variant->unmapped_errno,
		     mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_PIN, 0, IOVA,
			      3 * page_size, NULL, &self->cmd));
	EXPECT_ERRNO(variant->unmapped_errno,
		     mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_DMA_RW, 0,
			      IOVA + 2 * page_size - 8, sizeof(buf), buf,
			      &self->cmd));
	EXPECT_ERRNO(variant->unmapped_errno,
		     mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_PIN, 0,
			      IOVA - page_size, page_size, NULL, &self->cmd));
	/* The driver's own checks. */
	EXPECT_ERRNO(EINVAL, mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_PIN, 0,
				      IOVA, 0, NULL, &self->cmd));
	EXPECT_ERRNO(EINVAL, mdev_cmd(self->devfd, 0, 0, IOVA, page_size,
				      NULL, &self->cmd));
	EXPECT_ERRNO(ENOENT, mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_UNPIN,
				      0, IOVA, 0, NULL, &self->cmd));

	EXPECT_EQ(0, self->cmd.out_pins);
	EXPECT_EQ(0, self->cmd.out_unmaps);
	EXPECT_EQ(before, status_kb(self->charge));
	/* And what succeeds afterwards is unaffected. */
	ASSERT_EQ(0, mdev_cmd(self->devfd, IOMMU_TEST_MDEV_OP_PIN,
			      IOMMU_TEST_MDEV_WRITE, IOVA, 2 * page_size, NULL,
			      &self->cmd));
	EXPECT_EQ(before + 2 * page_kb, status_kb(self->charge));
}

/*
 * The cdev of an emulated device: binding gives the ID of an access object
 * that userspace cannot destroy, it attaches to IOASes only, and moving or
 * detaching it first makes the driver give every pin up.
 */
TEST(mdev_cdev_attach)
{
	struct vfio_device_attach_iommufd_pt *attach;
	struct vfio_device_bind_iommufd *bind;
	struct iommu_test_mdev_cmd cmd;
	uint32_t devid, ioas1, ioas2, id;
	int iommufd, devfd;
	char uuid[NAME_LEN + 8];
	uint8_t *mem;

	if (access(MDEV_BUS, F_OK))
		SKIP(return, NO_MDEV);
	page_size = sysconf(_SC_PAGESIZE);
	mem = mmap(NULL, PAGES * page_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_EQ(0, mdev_create(MDEV_CREATE, uuid, sizeof(uuid)));
	iommufd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, iommufd);
	devfd = mdev_cdev_open(uuid);
	ASSERT_LE(0, devfd);
	/* Nothing but binding works before binding. */
	EXPECT_ERRNO(EINVAL, mdev_cmd(devfd, IOMMU_TEST_MDEV_OP_STATUS, 0, 0,
				      0, NULL, &cmd));
	/* A bind whose ID cannot be written back is undone. */
	bind = readonly_arg(&(struct vfio_device_bind_iommufd){
				.argsz = sizeof(*bind),
				.iommufd = iommufd,
			    }, sizeof(*bind));
	ASSERT_NE(NULL, bind);
	EXPECT_ERRNO(EFAULT, ioctl(devfd, VFIO_DEVICE_BIND_IOMMUFD, bind));
	munmap(bind, getpagesize());
	EXPECT_ERRNO(EINVAL, mdev_cmd(devfd, IOMMU_TEST_MDEV_OP_STATUS, 0, 0,
				      0, NULL, &cmd));
	ASSERT_EQ(0, vfio_bind(devfd, iommufd, &devid));
	EXPECT_ERRNO(EBUSY, iommufd_destroy(iommufd, devid));

	ASSERT_EQ(0, ioas_alloc(iommufd, &ioas1));
	ASSERT_EQ(0, ioas_alloc(iommufd, &ioas2));
	ASSERT_EQ(0, ioas_map(iommufd, ioas1, mem, page_size, IOVA));
	ASSERT_EQ(0, ioas_map(iommufd, ioas2, mem + page_size, page_size,
			      IOVA));
	/* Detached, the driver reaches nothing. */
	EXPECT_ERRNO(ENOENT, mdev_cmd(devfd, IOMMU_TEST_MDEV_OP_PIN, 0, IOVA,
				      page_size, NULL, &cmd));
	id = devid;
	EXPECT_ERRNO(ENOENT, vfio_attach(devfd, &id));
	id = 0xfffffff;
	EXPECT_ERRNO(ENOENT, vfio_attach(devfd, &id));

	/* So is an attach whose page table cannot be written back. */
	attach = readonly_arg(&(struct vfio_device_attach_iommufd_pt){
				  .argsz = sizeof(*attach),
				  .pt_id = ioas1,
			      }, sizeof(*attach));
	ASSERT_NE(NULL, attach);
	EXPECT_ERRNO(EFAULT, ioctl(devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT,
				   attach));
	munmap(attach, getpagesize());
	EXPECT_ERRNO(ENOENT, mdev_cmd(devfd, IOMMU_TEST_MDEV_OP_PIN, 0, IOVA,
				      page_size, NULL, &cmd));
	/* Nor does it hold the IOAS. */
	EXPECT_EQ(0, iommufd_destroy(iommufd, ioas1));
	ASSERT_EQ(0, ioas_alloc(iommufd, &ioas1));
	ASSERT_EQ(0, ioas_map(iommufd, ioas1, mem, page_size, IOVA));

	id = ioas1;
	ASSERT_EQ(0, vfio_attach(devfd, &id));
	EXPECT_EQ(ioas1, id);
	fill(mem, 2 * page_size, 4);
	ASSERT_EQ(0, mdev_cmd(devfd, IOMMU_TEST_MDEV_OP_PIN, 0, IOVA,
			      page_size, NULL, &cmd));
	/* The IOAS cannot go while the access is attached to it. */
	EXPECT_ERRNO(EBUSY, iommufd_destroy(iommufd, ioas1));

	/* Replacing unpins first; then IOVA means ioas2's memory. */
	id = ioas2;
	ASSERT_EQ(0, vfio_attach(devfd, &id));
	ASSERT_EQ(0, mdev_cmd(devfd, IOMMU_TEST_MDEV_OP_DMA_RW, 0, IOVA, 16,
			      mem + 2 * page_size, &cmd));
	EXPECT_EQ(0, cmd.out_pins);
	EXPECT_EQ(1, cmd.out_unmaps);
	EXPECT_EQ(0, memcmp(mem + 2 * page_size, mem + page_size, 16));
	EXPECT_EQ(0, iommufd_destroy(iommufd, ioas1));

	ASSERT_EQ(0, mdev_cmd(devfd, IOMMU_TEST_MDEV_OP_PIN, 0, IOVA,
			      page_size, NULL, &cmd));
	ASSERT_EQ(0, vfio_detach(devfd));
	ASSERT_EQ(0, mdev_cmd(devfd, IOMMU_TEST_MDEV_OP_STATUS, 0, 0, 0, NULL,
			      &cmd));
	EXPECT_EQ(0, cmd.out_pins);
	EXPECT_EQ(2, cmd.out_unmaps);
	EXPECT_ERRNO(ENOENT, mdev_cmd(devfd, IOMMU_TEST_MDEV_OP_DMA_RW, 0,
				      IOVA, 16, mem, &cmd));
	EXPECT_EQ(0, vfio_detach(devfd));

	close(devfd);
	/* Closing the device destroyed its access. */
	EXPECT_ERRNO(ENOENT, iommufd_destroy(iommufd, devid));
	EXPECT_EQ(0, iommufd_destroy(iommufd, ioas2));
	close(iommufd);
	EXPECT_EQ(0, mdev_remove(uuid));
	munmap(mem, PAGES * page_size);
}

TEST_HARNESS_MAIN
