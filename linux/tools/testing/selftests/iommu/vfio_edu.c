// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of the VFIO device cdev, /dev/vfio/devices/vfioN, with iommufd, on
 * QEMU's "edu" PCI device, which has a DMA engine and no kernel driver:
 * the cdev's life cycle and rules, DMA through an IOAS, DMA the IOMMU must
 * block, and a multi-device IOMMU group shared with a kernel driver.
 *
 * The test machine has one edu alone in its IOMMU group, and two edus and
 * a virtio-rng behind a PCIe-to-PCI bridge, in one group. The tests give
 * the edus to vfio-pci and leave every device with the driver it had.
 *
 * A blocked DMA makes intel-iommu print a fault report on the console; the
 * tests wrap each one in "harness: expect" lines so the judge accepts it.
 */
#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "../kselftest_harness.h"
#include "vfio_edu_util.h"

/* IOVAs the edu can reach (below EDU_IOVA_LIMIT), pages apart. */
#define IOVA_A		0x100000ULL
#define IOVA_B		0x200000ULL
#define IOVA_C		0x300000ULL
#define IOVA_NEVER	0x800000ULL	/* never mapped by any test */

/* Short of the edu's buffer end, which QEMU 7.2 does not accept. */
#define LEN		1024
#define PAGES		3

static_assert(IOVA_NEVER < EDU_IOVA_LIMIT, "IOVAs out of the edu's reach");

#define NO_EDU		"no edu device alone in its IOMMU group"
#define NO_EDU_PAIR	"no two edu devices in one IOMMU group"

/* Every console line of intel-iommu's report of a blocked DMA. */
#define DMAR_FAULT_RE	"DMAR: (DRHD: handling fault status|\\[DMA (Read|Write) )"

static size_t page_size;

/* Bytes that differ from byte to byte and from @seed to @seed. */
static void fill(uint8_t *buf, size_t len, uint8_t seed)
{
	size_t i;

	for (i = 0; i != len; i++)
		buf[i] = seed + i * 13 + (i >> 8);
}

static bool all_bytes(const uint8_t *buf, uint8_t val, size_t len)
{
	size_t i;

	for (i = 0; i != len; i++) {
		if (buf[i] != val)
			return false;
	}
	return true;
}

static void *map_pages(void)
{
	void *mem;

	page_size = sysconf(_SC_PAGESIZE);
	mem = mmap(NULL, PAGES * page_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return mem == MAP_FAILED ? NULL : mem;
}

/*
 * An edu-to-RAM DMA to @iova that the IOMMU must block, in a window where
 * the judge tolerates the report. The report comes from the fault
 * interrupt, so the window closes only once it is in the log: that it
 * names this device and @iova proves the IOMMU blocked the write.
 *
 * intel-iommu rate limits its reports to ten lines in five seconds, two per
 * fault: a test may provoke up to five faults in a row.
 */
static int blocked_dma_to_ram(struct edu *edu, const char *bdf, uint64_t iova)
{
	char line[512];
	int kmsg, rc;

	kmsg = kmsg_open();
	if (kmsg < 0)
		return kmsg;
	rc = kmsg_write("harness: expect " DMAR_FAULT_RE);
	if (!rc)
		rc = edu_dma_to_ram(edu, iova, LEN);
	if (!rc)
		rc = dma_fault_wait(kmsg, bdf, iova, true, line, sizeof(line));
	kmsg_write("harness: expect-end");
	close(kmsg);
	return rc;
}

/* The edu alone in its group, given to vfio-pci for each test. */
FIXTURE(edu)
{
	char bdf[NAME_LEN];
	bool found;
	bool claimed;
	int iommufd;
	int devfd;
	struct edu edu;
	uint8_t *mem;		/* PAGES pages to map */
};

FIXTURE_SETUP(edu)
{
	self->devfd = -1;
	self->iommufd = -1;
	if (edu_find_standalone(self->bdf))
		SKIP(return, NO_EDU);
	self->iommufd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->iommufd);
	self->mem = map_pages();
	ASSERT_NE(NULL, self->mem);
	/* Last: a setup that fails has no teardown to undo it. */
	ASSERT_EQ(0, vfio_pci_claim(self->bdf, &self->claimed));
	self->found = true;
}

FIXTURE_TEARDOWN(edu)
{
	/* The device must be closed for vfio-pci to let it go. */
	edu_close(&self->edu);
	if (self->devfd >= 0)
		close(self->devfd);
	if (self->iommufd >= 0)
		close(self->iommufd);
	if (self->mem)
		munmap(self->mem, PAGES * page_size);
	if (self->found)
		EXPECT_EQ(0, vfio_pci_release(self->bdf, self->claimed));
}

/* Open the edu's cdev and bind it to the fixture's iommufd. */
#define OPEN_AND_BIND(devid)                                                   \
	do {                                                                   \
		self->devfd = vfio_cdev_open(self->bdf);                       \
		ASSERT_LE(0, self->devfd);                                     \
		ASSERT_EQ(0, vfio_bind(self->devfd, self->iommufd, devid));    \
	} while (0)

TEST_F(edu, cdev_exists)
{
	char name[NAME_LEN], path[PATH_MAX], dev[NAME_LEN];
	char want[PATH_MAX], got[PATH_MAX];
	unsigned int maj, min;
	struct stat st;
	int n;

	/* With this harness, a test runs after its setup skipped. */
	if (!self->found)
		SKIP(return, NO_EDU);
	ASSERT_EQ(0, vfio_cdev_name(self->bdf, name, sizeof(name)));
	ASSERT_EQ(0, strncmp(name, "vfio", 4));

	/* The node devtmpfs made is the device sysfs describes. */
	snprintf(path, sizeof(path), PCI_DEVICES "/%s/vfio-dev/%s/dev",
		 self->bdf, name);
	ASSERT_EQ(0, read_str(path, dev, sizeof(dev)));
	n = sscanf(dev, "%u:%u", &maj, &min);
	ASSERT_EQ(2, n);
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", name);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(maj, major(st.st_rdev));
	EXPECT_EQ(min, minor(st.st_rdev));

	/* It is in the vfio-dev class, with the PCI device as its parent. */
	snprintf(path, sizeof(path), "/sys/class/vfio-dev/%s/device", name);
	ASSERT_NE(NULL, realpath(path, got));
	snprintf(path, sizeof(path), PCI_DEVICES "/%s", self->bdf);
	ASSERT_NE(NULL, realpath(path, want));
	EXPECT_STREQ(want, got);

	/* The cdev goes when vfio-pci lets the device go, and comes back. */
	ASSERT_EQ(0, pci_unbind(self->bdf));
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", name);
	EXPECT_ERRNO(ENOENT, stat(path, &st));
	snprintf(path, sizeof(path), PCI_DEVICES "/%s/vfio-dev/%s",
		 self->bdf, name);
	EXPECT_ERRNO(ENOENT, stat(path, &st));
	ASSERT_EQ(0, write_file("/sys/bus/pci/drivers_probe", self->bdf));
	ASSERT_TRUE(pci_driver_is(self->bdf, "vfio-pci"));
	ASSERT_EQ(0, vfio_cdev_name(self->bdf, name, sizeof(name)));
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", name);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST_F(edu, ioctls_before_bind)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_device_bind_iommufd bind = {};
	struct vfio_region_info cfg;
	uint32_t devid, ioas, pt_id;
	int nullfd, closed, other;
	uint8_t buf[4] = {};
	uint16_t vendor;
	void *map;

	if (!self->found)
		SKIP(return, NO_EDU);
	ASSERT_EQ(0, ioas_alloc(self->iommufd, &ioas));
	self->devfd = vfio_cdev_open(self->bdf);
	ASSERT_LE(0, self->devfd);

	/* Until bound, the file is good for nothing but the bind. */
	EXPECT_ERRNO(EINVAL, ioctl(self->devfd, VFIO_DEVICE_GET_INFO, &info));
	pt_id = ioas;
	EXPECT_ERRNO(EINVAL, vfio_attach(self->devfd, &pt_id));
	EXPECT_EQ(ioas, pt_id);
	EXPECT_ERRNO(EINVAL, vfio_detach(self->devfd));
	EXPECT_ERRNO(EINVAL, read(self->devfd, buf, sizeof(buf)));
	EXPECT_ERRNO(EINVAL, pread(self->devfd, buf, sizeof(buf), 0));
	EXPECT_ERRNO(EINVAL, write(self->devfd, buf, sizeof(buf)));
	EXPECT_ERRNO(EINVAL, pwrite(self->devfd, buf, sizeof(buf), 0));
	map = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   self->devfd, 0);
	EXPECT_EQ(MAP_FAILED, map);
	EXPECT_EQ(EINVAL, errno);
	/* A mapping would hold the device open past the teardown. */
	if (map != MAP_FAILED)
		munmap(map, page_size);

	/* Malformed binds fail and leave the file unbound. */
	bind.argsz = sizeof(bind);
	bind.flags = 1;
	bind.iommufd = self->iommufd;
	EXPECT_ERRNO(EINVAL,
		     ioctl(self->devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	bind.flags = 0;
	for (bind.argsz = 0; bind.argsz != sizeof(bind); bind.argsz++)
		EXPECT_ERRNO(EINVAL, ioctl(self->devfd,
					   VFIO_DEVICE_BIND_IOMMUFD, &bind));

	/*
	 * A negative number, a number with no file, then files that are not
	 * iommufds: EBADFD as upstream's iommufd_ctx_from_fd() gives.
	 */
	EXPECT_ERRNO(EINVAL, vfio_bind(self->devfd, -1, NULL));
	closed = open("/dev/null", O_RDWR);
	ASSERT_LE(0, closed);
	close(closed);
	EXPECT_ERRNO(EBADF, vfio_bind(self->devfd, closed, NULL));
	nullfd = open("/dev/null", O_RDWR);
	ASSERT_LE(0, nullfd);
	EXPECT_ERRNO(EBADFD, vfio_bind(self->devfd, nullfd, NULL));
	close(nullfd);
	EXPECT_ERRNO(EBADFD, vfio_bind(self->devfd, self->devfd, NULL));
	EXPECT_ERRNO(EINVAL, ioctl(self->devfd, VFIO_DEVICE_GET_INFO, &info));

	ASSERT_EQ(0, vfio_bind(self->devfd, self->iommufd, &devid));
	EXPECT_LT(0, devid);
	EXPECT_NE(ioas, devid);

	/* Bound, the same calls work. */
	ASSERT_EQ(0, ioctl(self->devfd, VFIO_DEVICE_GET_INFO, &info));
	EXPECT_TRUE(info.flags & VFIO_DEVICE_FLAGS_PCI);
	EXPECT_LE(VFIO_PCI_NUM_REGIONS, info.num_regions);
	ASSERT_EQ(0, vfio_region(self->devfd, VFIO_PCI_CONFIG_REGION_INDEX,
				 &cfg));
	ASSERT_EQ(sizeof(vendor), pread(self->devfd, &vendor, sizeof(vendor),
					cfg.offset + PCI_VENDOR_ID));
	EXPECT_EQ(EDU_VENDOR, le16toh(vendor));

	/* The device is an object of the iommufd, in use while bound. */
	EXPECT_ERRNO(EBUSY, iommufd_destroy(self->iommufd, devid));
	/* Only page tables and IOASes can be attached to. */
	pt_id = 1000;
	EXPECT_ERRNO(ENOENT, vfio_attach(self->devfd, &pt_id));
	pt_id = devid;
	EXPECT_ERRNO(EINVAL, vfio_attach(self->devfd, &pt_id));

	/* One bind per open file, whatever the iommufd. */
	EXPECT_ERRNO(EINVAL, vfio_bind(self->devfd, self->iommufd, NULL));
	other = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, other);
	EXPECT_ERRNO(EINVAL, vfio_bind(self->devfd, other, NULL));
	close(other);

	/*
	 * A second open of the cdev gets a file of its own: it cannot bind
	 * the bound device, and closing it leaves the first file bound.
	 */
	other = vfio_cdev_open(self->bdf);
	ASSERT_LE(0, other);
	EXPECT_ERRNO(EINVAL, ioctl(other, VFIO_DEVICE_GET_INFO, &info));
	EXPECT_ERRNO(EINVAL, vfio_bind(other, self->iommufd, NULL));
	close(other);
	EXPECT_EQ(0, ioctl(self->devfd, VFIO_DEVICE_GET_INFO, &info));
	EXPECT_ERRNO(EBUSY, iommufd_destroy(self->iommufd, devid));

	/* Closing unbinds: the object goes, and a new open may bind. */
	close(self->devfd);
	self->devfd = -1;
	EXPECT_ERRNO(ENOENT, iommufd_destroy(self->iommufd, devid));
	OPEN_AND_BIND(&devid);
	EXPECT_ERRNO(EBUSY, iommufd_destroy(self->iommufd, devid));
}

/*
 * The group file and a bound cdev exclude each other, as upstream: the
 * bind fails with EBUSY while the group file is open, and the group file
 * does not open while the cdev is bound. A cdev merely open, as a manager
 * that hands it on holds it, excludes nothing, and a failed bind leaves
 * nothing blocked.
 */
TEST_F(edu, group_cdev_exclusive)
{
	uint32_t devid;
	int cdev, group;

	if (!self->found)
		SKIP(return, NO_EDU);
	/*
	 * No ASSERT while a file is open: the teardown gives the device
	 * back to its driver, which waits for every file to close.
	 */
	cdev = vfio_cdev_open(self->bdf);
	ASSERT_LE(0, cdev);
	group = vfio_group_open(self->bdf);
	EXPECT_LE(0, group);
	if (group >= 0) {
		EXPECT_ERRNO(EBUSY, vfio_bind(cdev, self->iommufd, &devid));
		close(group);
	}

	EXPECT_EQ(0, vfio_bind(cdev, self->iommufd, &devid));
	group = vfio_group_open(self->bdf);
	EXPECT_EQ(-EBUSY, group);
	if (group >= 0)
		close(group);
	close(cdev);
	group = vfio_group_open(self->bdf);
	ASSERT_LE(0, group);
	close(group);
}

TEST_F_TIMEOUT(edu, dma_copy, 60)
{
	uint8_t *src = self->mem, *dst = self->mem + page_size;
	uint32_t devid, ioas, hwpt, hwpt2, pt_id;

	if (!self->found)
		SKIP(return, NO_EDU);
	OPEN_AND_BIND(&devid);
	ASSERT_EQ(0, ioas_alloc(self->iommufd, &ioas));
	fill(src, page_size, 0x11);
	memset(dst, 0, page_size);
	ASSERT_EQ(0, ioas_map(self->iommufd, ioas, src, page_size, IOVA_A));
	ASSERT_EQ(0, ioas_map(self->iommufd, ioas, dst, page_size, IOVA_B));

	/* Attaching to an IOAS gets a page table the kernel made for it. */
	pt_id = ioas;
	ASSERT_EQ(0, vfio_attach(self->devfd, &pt_id));
	hwpt = pt_id;
	EXPECT_NE(ioas, hwpt);
	EXPECT_NE(devid, hwpt);
	EXPECT_ERRNO(EBUSY, iommufd_destroy(self->iommufd, hwpt));

	ASSERT_EQ(0, edu_open(&self->edu, self->devfd));
	ASSERT_TRUE(edu_alive(&self->edu));
	ASSERT_EQ(0, edu_dma_from_ram(&self->edu, IOVA_A, LEN));
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, IOVA_B, LEN));
	EXPECT_EQ(0, memcmp(src, dst, LEN));
	EXPECT_TRUE(all_bytes(dst + LEN, 0, page_size - LEN));

	/* Replace with a page table made on request, on the same IOAS. */
	ASSERT_EQ(0, hwpt_alloc(self->iommufd, devid, ioas, &hwpt2));
	EXPECT_NE(hwpt, hwpt2);
	pt_id = hwpt2;
	ASSERT_EQ(0, vfio_attach(self->devfd, &pt_id));
	EXPECT_EQ(hwpt2, pt_id);
	/* The kernel's page table left with its last device. */
	EXPECT_ERRNO(ENOENT, iommufd_destroy(self->iommufd, hwpt));
	EXPECT_ERRNO(EBUSY, iommufd_destroy(self->iommufd, hwpt2));

	fill(src, page_size, 0x77);
	memset(dst, 0, page_size);
	ASSERT_EQ(0, edu_dma_from_ram(&self->edu, IOVA_A, LEN));
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, IOVA_B, LEN));
	EXPECT_EQ(0, memcmp(src, dst, LEN));
	EXPECT_TRUE(all_bytes(dst + LEN, 0, page_size - LEN));

	/* Detached, nothing uses the page table any more. */
	EXPECT_EQ(0, vfio_detach(self->devfd));
	EXPECT_EQ(0, iommufd_destroy(self->iommufd, hwpt2));
}

/* @len bytes of anonymous memory aligned to @align, touched; or NULL. */
static uint8_t *map_aligned(size_t len, size_t align, int advice)
{
	uint8_t *mem, *start;

	mem = mmap(NULL, len + align, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return NULL;
	start = (uint8_t *)(((uintptr_t)mem + align - 1) & ~(align - 1));
	if (start != mem)
		munmap(mem, start - mem);
	munmap(start + len, mem + align - start);
	madvise(start, len, advice);
	memset(start, 0x5a, len);
	return start;
}

/*
 * The page table of a real IOMMU maps what IOMMU_IOAS_MAP pinned: read back
 * through the driver's iova_to_pfns (IOMMU_TEST_OP_MD_CHECK_MAP on a VT-d
 * page table) for transparent huge pages at IOVAs as aligned as the memory
 * (2 MiB IO pages) and not (4 KiB IO pages only), and 4 KiB pages across
 * leaf tables; an unmap leaves every page with no pin. The unmaps read the
 * same way which pages to unpin, so wrong reads would show in the counts.
 */
TEST_F_TIMEOUT(edu, map_readback, 120)
{
	const size_t huge = 2UL << 20, len = 4 * huge;
	struct {
		uint8_t *va;
		size_t len;
		uint64_t iova;
	} maps[4];
	uint32_t devid, ioas, hwpt;
	uint8_t *thp, *small;
	unsigned int i;

	if (!self->found)
		SKIP(return, NO_EDU);
	thp = map_aligned(len, huge, MADV_HUGEPAGE);
	small = map_aligned(len, huge, MADV_NOHUGEPAGE);
	ASSERT_NE(NULL, thp);
	ASSERT_NE(NULL, small);
	maps[0].va = thp;
	maps[0].len = len;
	maps[0].iova = 0x4000000;
	maps[1].va = thp + page_size;
	maps[1].len = huge;
	maps[1].iova = 0x8000000 + page_size;
	maps[2].va = thp;
	maps[2].len = 2 * huge;
	maps[2].iova = 0xc000000 + page_size;
	maps[3].va = small + page_size;
	maps[3].len = len - page_size;
	maps[3].iova = 0x14000000;

	OPEN_AND_BIND(&devid);
	ASSERT_EQ(0, ioas_alloc(self->iommufd, &ioas));
	/* One mapping before the attach fills the new page table. */
	ASSERT_EQ(0, ioas_map(self->iommufd, ioas, small, len, 0x10000000));
	hwpt = ioas;
	ASSERT_EQ(0, vfio_attach(self->devfd, &hwpt));

	for (i = 0; i != ARRAY_SIZE(maps); i++) {
		ASSERT_EQ(0, ioas_map(self->iommufd, ioas, maps[i].va,
				      maps[i].len, maps[i].iova));
		EXPECT_EQ(0, md_check_map(self->iommufd, hwpt, maps[i].iova,
					  maps[i].va, maps[i].len));
	}
	EXPECT_EQ(0, md_check_map(self->iommufd, hwpt, 0x10000000, small, len));
	/* Two maps of the same pages pin them twice. */
	EXPECT_EQ(0, md_check_refs(self->iommufd, small, page_size, 1));
	EXPECT_EQ(0, md_check_refs(self->iommufd, small + page_size,
				   len - page_size, 2));

	/* The check can fail: other pages, and an unmapped IOVA. */
	EXPECT_ERRNO(EINVAL, md_check_map(self->iommufd, hwpt, 0x10000000,
					  thp, page_size));
	EXPECT_ERRNO(EINVAL, md_check_map(self->iommufd, hwpt,
					  0x4000000 + len, thp, page_size));

	for (i = 0; i != ARRAY_SIZE(maps); i++)
		ASSERT_EQ(0, ioas_unmap(self->iommufd, ioas, maps[i].iova,
					maps[i].len, NULL));
	EXPECT_EQ(0, md_check_refs(self->iommufd, small, len, 1));
	EXPECT_EQ(0, vfio_detach(self->devfd));
	/* Without a page table nothing is pinned, though still mapped. */
	EXPECT_EQ(0, md_check_refs(self->iommufd, small, len, 0));
	ASSERT_EQ(0, ioas_unmap(self->iommufd, ioas, 0x10000000, len, NULL));
	munmap(thp, len);
	munmap(small, len);
}

/*
 * What QEMU 10 does with guest RAM in a memfd, then a live update. The old
 * process maps the memfd with IOMMU_IOAS_MAP_FILE, attaches the edu and
 * has it copy within that RAM, then hands /dev/iommu, the device and the
 * memfd to the new process and exits (see live_update()).
 */
struct file_ram {
	struct __test_metadata *_metadata;
	const char *bdf;
	int iommufd, devfd, mfd;
};

static bool file_ram_old(void *arg)
{
	uint32_t flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE;
	struct file_ram *f = arg;
	struct __test_metadata *_metadata = f->_metadata;
	uint64_t iova = IOVA_A;
	uint32_t devid, ioas, pt;
	struct edu edu = {};
	uint8_t *ram;
	bool ok;

	f->iommufd = open("/dev/iommu", O_RDWR);
	EXPECT_LE(0, f->iommufd);
	f->devfd = vfio_cdev_open(f->bdf);
	EXPECT_LE(0, f->devfd);
	EXPECT_EQ(0, vfio_bind(f->devfd, f->iommufd, &devid));
	EXPECT_EQ(0, ioas_alloc(f->iommufd, &ioas));
	f->mfd = memfd_create("guest-ram", 0);
	EXPECT_LE(0, f->mfd);
	EXPECT_EQ(0, ftruncate(f->mfd, 2 * page_size));
	EXPECT_EQ(0, map_file(f->iommufd, ioas, flags, f->mfd, 0,
			      2 * page_size, &iova));
	pt = ioas;
	EXPECT_EQ(0, vfio_attach(f->devfd, &pt));

	ram = mmap(NULL, 2 * page_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   f->mfd, 0);
	if (ram == MAP_FAILED)
		return false;
	fill(ram, page_size, 0x21);
	EXPECT_EQ(0, edu_open(&edu, f->devfd));
	ok = !edu_dma_from_ram(&edu, IOVA_A, LEN) &&
	     !edu_dma_to_ram(&edu, IOVA_A + page_size, LEN) &&
	     !memcmp(ram, ram + page_size, LEN);
	edu_close(&edu);
	EXPECT_TRUE(ok);
	return _metadata->passed;
}

/*
 * The new process takes the mappings over with IOMMU_IOAS_CHANGE_PROCESS
 * (VmPin moves to it) and the edu copies within the same RAM again.
 */
static bool file_ram_new(void *arg)
{
	struct file_ram *f = arg;
	struct __test_metadata *_metadata = f->_metadata;
	struct edu edu = {};
	uint8_t *ram;
	long vmpin;
	bool ok;

	vmpin = status_kb("VmPin:");
	EXPECT_EQ(0, change_process(f->iommufd, 0));
	EXPECT_EQ(vmpin + 2 * page_size / 1024, status_kb("VmPin:"));

	ram = mmap(NULL, 2 * page_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   f->mfd, 0);
	if (ram == MAP_FAILED)
		return false;
	/* What the old process's DMA wrote is there. */
	EXPECT_EQ(0, memcmp(ram, ram + page_size, LEN));
	fill(ram, page_size, 0x43);
	memset(ram + page_size, 0, page_size);
	EXPECT_EQ(0, edu_open(&edu, f->devfd));
	ok = !edu_dma_from_ram(&edu, IOVA_A, LEN) &&
	     !edu_dma_to_ram(&edu, IOVA_A + page_size, LEN);
	edu_close(&edu);
	EXPECT_TRUE(ok);
	EXPECT_EQ(0, memcmp(ram, ram + page_size, LEN));
	EXPECT_TRUE(all_bytes(ram + page_size + LEN, 0, page_size - LEN));
	return _metadata->passed;
}

TEST_F_TIMEOUT(edu, file_ram_handover, 120)
{
	struct file_ram f = { ._metadata = _metadata, .bdf = self->bdf };

	if (!self->found)
		SKIP(return, NO_EDU);
	/* Both processes are gone, with the device closed, on return. */
	EXPECT_TRUE(live_update(file_ram_old, file_ram_new, &f));
}

/*
 * The set-up of the isolation tests: the edu bound and attached to a new
 * IOAS that maps the first page of self->mem (filled with 0x5c) at IOVA_A,
 * the source, and the second at IOVA_B, the victim; its ID in *ioas.
 */
#define SRC_AND_VICTIM(ioas)                                                   \
	do {                                                                   \
		uint32_t devid_, pt_id_, *ioas_ = (ioas);                      \
									       \
		OPEN_AND_BIND(&devid_);                                        \
		ASSERT_EQ(0, ioas_alloc(self->iommufd, ioas_));                \
		fill(self->mem, page_size, 0x5c);                              \
		ASSERT_EQ(0, ioas_map(self->iommufd, *ioas_, self->mem,        \
				      page_size, IOVA_A));                     \
		ASSERT_EQ(0, ioas_map(self->iommufd, *ioas_,                   \
				      self->mem + page_size, page_size,        \
				      IOVA_B));                                \
		pt_id_ = *ioas_;                                               \
		ASSERT_EQ(0, vfio_attach(self->devfd, &pt_id_));               \
		ASSERT_EQ(0, edu_open(&self->edu, self->devfd));               \
	} while (0)

TEST_F_TIMEOUT(edu, dma_isolation, 120)
{
	uint8_t *src = self->mem, *victim = self->mem + page_size;
	uint32_t ioas, pt_id;
	uint64_t unmapped;

	if (!self->found)
		SKIP(return, NO_EDU);
	SRC_AND_VICTIM(&ioas);

	/* Mapped, the edu writes the victim: the checks below can fail. */
	ASSERT_EQ(0, edu_dma_from_ram(&self->edu, IOVA_A, LEN));
	memset(victim, 0x5a, page_size);
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, IOVA_B, LEN));
	ASSERT_EQ(0, memcmp(src, victim, LEN));

	/* Unmapped, it cannot, though the memory is still the process's. */
	memset(victim, 0x5a, page_size);
	ASSERT_EQ(0, ioas_unmap(self->iommufd, ioas, IOVA_B, page_size,
				&unmapped));
	EXPECT_EQ(page_size, unmapped);
	ASSERT_EQ(0, blocked_dma_to_ram(&self->edu, self->bdf, IOVA_B));
	EXPECT_TRUE(all_bytes(victim, 0x5a, page_size));

	/* Nor where nothing was ever mapped. */
	ASSERT_EQ(0, blocked_dma_to_ram(&self->edu, self->bdf, IOVA_NEVER));
	EXPECT_TRUE(all_bytes(victim, 0x5a, page_size));

	/* Mapped again, it writes again. */
	ASSERT_EQ(0, ioas_map(self->iommufd, ioas, victim, page_size, IOVA_B));
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, IOVA_B, LEN));
	ASSERT_EQ(0, memcmp(src, victim, LEN));

	/* Detached, it cannot write the mapped victim. */
	memset(victim, 0x5a, page_size);
	ASSERT_EQ(0, vfio_detach(self->devfd));
	ASSERT_EQ(0, blocked_dma_to_ram(&self->edu, self->bdf, IOVA_B));
	EXPECT_TRUE(all_bytes(victim, 0x5a, page_size));

	/* Still bound: attached again, it writes again. */
	pt_id = ioas;
	ASSERT_EQ(0, vfio_attach(self->devfd, &pt_id));
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, IOVA_B, LEN));
	EXPECT_EQ(0, memcmp(src, victim, LEN));
}

/* A register of the device's VT-d unit from sysfs ("cap", "ecap"), or 0. */
static uint64_t vtd_register(const char *bdf, const char *reg)
{
	char path[PATH_MAX], val[NAME_LEN];

	if (fmt_buf(path, sizeof(path), PCI_DEVICES "/%s/iommu/intel-iommu/%s",
		    bdf, reg) ||
	    read_str(path, val, sizeof(val)))
		return 0;
	return strtoull(val, NULL, 16);
}

/*
 * IOMMU_GET_HW_INFO on a real device: VT-d's report carries the unit's
 * capability registers, as sysfs shows them.
 */
TEST_F(edu, hw_info_vtd)
{
	struct iommu_hw_info_vtd vtd;
	struct iommu_hw_info info = {
		.size = sizeof(info),
		.data_len = sizeof(vtd),
		.data_uptr = (uintptr_t)&vtd,
	};
	uint64_t cap, ecap;
	uint32_t devid;

	if (!self->found)
		SKIP(return, NO_EDU);
	cap = vtd_register(self->bdf, "cap");
	ecap = vtd_register(self->bdf, "ecap");
	ASSERT_NE(0, cap);
	ASSERT_NE(0, ecap);

	OPEN_AND_BIND(&devid);
	memset(&vtd, 0xff, sizeof(vtd));
	info.dev_id = devid;
	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_GET_HW_INFO, &info));
	EXPECT_EQ(IOMMU_HW_INFO_TYPE_INTEL_VTD, info.out_data_type);
	EXPECT_EQ(sizeof(vtd), info.data_len);
	EXPECT_EQ(0, vtd.flags);
	EXPECT_EQ(0, vtd.__reserved);
	EXPECT_EQ(cap, vtd.cap_reg);
	EXPECT_EQ(ecap, vtd.ecap_reg);

	/* Asking for VT-d's report by type gets the same. */
	info.flags = IOMMU_HW_INFO_FLAG_INPUT_TYPE;
	info.in_data_type = IOMMU_HW_INFO_TYPE_INTEL_VTD;
	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_GET_HW_INFO, &info));
	EXPECT_EQ(IOMMU_HW_INFO_TYPE_INTEL_VTD, info.out_data_type);
	EXPECT_EQ(cap, vtd.cap_reg);
}

/*
 * Dirty tracking on VT-d: the emulated unit has no second-stage dirty bits
 * (no SSADS in ECAP), so the capability is clear and a tracking page table
 * cannot be made; a plain one refuses the dirty tracking ioctls. Neither
 * can a nest parent be made.
 */
TEST_F(edu, dirty_tracking_vtd)
{
	struct iommu_hw_info info = { .size = sizeof(info) };
	struct iommu_hwpt_set_dirty_tracking set = {
		.size = sizeof(set),
		.flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE,
	};
	struct iommu_hwpt_get_dirty_bitmap get = {
		.size = sizeof(get),
		.iova = IOVA_A,
		.length = PAGES * page_size,
		.page_size = page_size,
	};
	struct iommu_hwpt_alloc alloc = {
		.size = sizeof(alloc),
		.flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
	};
	uint64_t bitmap = 0;
	uint32_t devid, ioas, hwpt;

	if (!self->found)
		SKIP(return, NO_EDU);
	OPEN_AND_BIND(&devid);
	info.dev_id = devid;
	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_GET_HW_INFO, &info));
	EXPECT_EQ(0, info.out_capabilities & IOMMU_HW_CAP_DIRTY_TRACKING);

	ASSERT_EQ(0, ioas_alloc(self->iommufd, &ioas));
	ASSERT_EQ(0, ioas_map(self->iommufd, ioas, self->mem,
			      PAGES * page_size, IOVA_A));
	alloc.dev_id = devid;
	alloc.pt_id = ioas;
	EXPECT_EQ(-1, ioctl(self->iommufd, IOMMU_HWPT_ALLOC, &alloc));
	EXPECT_EQ(EOPNOTSUPP, errno);
	/* Nor can 6.1's VT-d driver make a parent for nesting. */
	alloc.flags = IOMMU_HWPT_ALLOC_NEST_PARENT;
	EXPECT_EQ(-1, ioctl(self->iommufd, IOMMU_HWPT_ALLOC, &alloc));
	EXPECT_EQ(EOPNOTSUPP, errno);

	ASSERT_EQ(0, hwpt_alloc(self->iommufd, devid, ioas, &hwpt));
	set.hwpt_id = hwpt;
	EXPECT_EQ(-1, ioctl(self->iommufd, IOMMU_HWPT_SET_DIRTY_TRACKING,
			    &set));
	EXPECT_EQ(EOPNOTSUPP, errno);
	get.hwpt_id = hwpt;
	get.data = (uintptr_t)&bitmap;
	EXPECT_EQ(-1, ioctl(self->iommufd, IOMMU_HWPT_GET_DIRTY_BITMAP, &get));
	EXPECT_EQ(EOPNOTSUPP, errno);
	/* The plain page table works as any other. */
	ASSERT_EQ(0, vfio_attach(self->devfd, &hwpt));
	EXPECT_EQ(0, vfio_detach(self->devfd));
	EXPECT_EQ(0, iommufd_destroy(self->iommufd, hwpt));
}

/* The edu copies LEN bytes from @src_iova to @dst_iova through its buffer. */
static int edu_copy(struct edu *edu, uint64_t src_iova, uint64_t dst_iova)
{
	int rc;

	rc = edu_dma_from_ram(edu, src_iova, LEN);
	return rc ? rc : edu_dma_to_ram(edu, dst_iova, LEN);
}

/*
 * The group interface given an iommufd instead of a container: its device,
 * once opened, is bound and attached to the context's compatibility IOAS,
 * which userspace maps with IOMMU_IOAS_MAP.
 */
TEST_F_TIMEOUT(edu, group_with_iommufd, 60)
{
	uint8_t *src = self->mem, *dst = self->mem + page_size;
	int groupfd, nullfd;
	uint32_t flags, ioas;

	if (!self->found)
		SKIP(return, NO_EDU);
	groupfd = vfio_group_open(self->bdf);
	ASSERT_LE(0, groupfd);
	ASSERT_EQ(0, group_status(groupfd, &flags));
	EXPECT_EQ(VFIO_GROUP_FLAGS_VIABLE, flags);
	EXPECT_ERRNO(ENODEV, compat_ioas(self->iommufd, &ioas));

	/* Neither a container nor an iommufd: refused, nothing set. */
	nullfd = open("/dev/null", O_RDWR);
	ASSERT_LE(0, nullfd);
	EXPECT_ERRNO(EINVAL, ioctl(groupfd, VFIO_GROUP_SET_CONTAINER, &nullfd));
	close(nullfd);
	EXPECT_ERRNO(EINVAL, ioctl(groupfd, VFIO_GROUP_UNSET_CONTAINER));

	ASSERT_EQ(0, ioctl(groupfd, VFIO_GROUP_SET_CONTAINER, &self->iommufd));
	ASSERT_EQ(0, group_status(groupfd, &flags));
	EXPECT_EQ(VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET,
		  flags);
	/* Setting it twice is refused. */
	EXPECT_ERRNO(EINVAL,
		     ioctl(groupfd, VFIO_GROUP_SET_CONTAINER, &self->iommufd));
	/* The group made the compatibility IOAS. */
	ASSERT_EQ(0, compat_ioas(self->iommufd, &ioas));

	self->devfd = ioctl(groupfd, VFIO_GROUP_GET_DEVICE_FD, self->bdf);
	ASSERT_LE(0, self->devfd);
	/* The device is attached to the compatibility IOAS: it is in use. */
	EXPECT_ERRNO(EBUSY, iommufd_destroy(self->iommufd, ioas));
	/* And the group cannot give up the iommufd while it is open. */
	EXPECT_ERRNO(EBUSY, ioctl(groupfd, VFIO_GROUP_UNSET_CONTAINER));

	fill(src, page_size, 0x5a);
	memset(dst, 0, page_size);
	ASSERT_EQ(0, ioas_map(self->iommufd, ioas, src, page_size, IOVA_A));
	ASSERT_EQ(0, ioas_map(self->iommufd, ioas, dst, page_size, IOVA_B));
	ASSERT_EQ(0, edu_open(&self->edu, self->devfd));
	ASSERT_TRUE(edu_alive(&self->edu));
	ASSERT_EQ(0, edu_copy(&self->edu, IOVA_A, IOVA_B));
	EXPECT_EQ(0, memcmp(src, dst, LEN));

	/* Closed, the device leaves the IOAS and the group its iommufd. */
	edu_close(&self->edu);
	close(self->devfd);
	self->devfd = -1;
	EXPECT_EQ(0, ioctl(groupfd, VFIO_GROUP_UNSET_CONTAINER));
	ASSERT_EQ(0, group_status(groupfd, &flags));
	EXPECT_EQ(VFIO_GROUP_FLAGS_VIABLE, flags);
	EXPECT_EQ(0, iommufd_destroy(self->iommufd, ioas));
	close(groupfd);
}

/* The group interface with a type1 container works as it always did. */

/*
 * What QEMU before 9 and libvirt do: a container from /dev/vfio/vfio, the
 * group set to it, VFIO_TYPE1v2_IOMMU, type1 maps, the device file from the
 * group, DMA. @iommufd picks who serves /dev/vfio/vfio: VFIO's type1, or
 * iommufd (vfio.iommufd_container), whose container is also an iommufd
 * whose compatibility IOAS holds the type1 maps.
 */
struct type1_flow {
	const char *bdf;
	uint8_t *mem;
	int iommufd;	/* a /dev/iommu of the test's */
	int *devfd;	/* the fixture's, which its teardown closes */
	struct edu *edu;
};

static void type1_flow(struct __test_metadata *_metadata,
		       const struct type1_flow *self, bool iommufd)
{
	uint8_t *src = self->mem, *dst = self->mem + page_size;
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.size = page_size,
	};
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = IOVA_A,
		.size = page_size,
	};
	int groupfd, container, cdev;
	uint32_t flags, ioas;

	container = vfio_container_open(iommufd);
	ASSERT_LE(0, container);
	EXPECT_EQ(VFIO_API_VERSION, ioctl(container, VFIO_GET_API_VERSION));
	EXPECT_EQ(1, ioctl(container, VFIO_CHECK_EXTENSION,
			   VFIO_TYPE1v2_IOMMU));
	/* Only an iommufd has a compatibility IOAS to tell. */
	if (iommufd) {
		EXPECT_ERRNO(ENODEV, compat_ioas(container, &ioas));
	} else {
		/* VFIO's container: EINVAL for what it does not know. */
		EXPECT_ERRNO(EINVAL, compat_ioas(container, &ioas));
	}
	groupfd = vfio_group_open(self->bdf);
	ASSERT_LE(0, groupfd);
	ASSERT_EQ(0, ioctl(groupfd, VFIO_GROUP_SET_CONTAINER, &container));
	ASSERT_EQ(0, ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, group_status(groupfd, &flags));
	EXPECT_EQ(VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET,
		  flags);
	/* While the group is open its devices' cdevs cannot be bound. */
	cdev = vfio_cdev_open(self->bdf);
	EXPECT_LE(0, cdev);
	if (cdev >= 0) {
		EXPECT_ERRNO(EBUSY, vfio_bind(cdev, self->iommufd, &flags));
		close(cdev);
	}

	fill(src, page_size, 0xa5);
	memset(dst, 0, page_size);
	map.vaddr = (uintptr_t)src;
	map.iova = IOVA_A;
	ASSERT_EQ(0, ioctl(container, VFIO_IOMMU_MAP_DMA, &map));
	map.vaddr = (uintptr_t)dst;
	map.iova = IOVA_B;
	if (iommufd) {
		/* The same mapping made the iommufd way, in the same IOAS. */
		ASSERT_EQ(0, compat_ioas(container, &ioas));
		ASSERT_EQ(0, ioas_map(container, ioas, dst, page_size,
				      IOVA_B));
	} else {
		ASSERT_EQ(0, ioctl(container, VFIO_IOMMU_MAP_DMA, &map));
	}

	*self->devfd = ioctl(groupfd, VFIO_GROUP_GET_DEVICE_FD, self->bdf);
	ASSERT_LE(0, *self->devfd);
	/* Binding to an iommufd is for cdev files only. */
	EXPECT_ERRNO(EINVAL, vfio_bind(*self->devfd, self->iommufd, &flags));
	ASSERT_EQ(0, edu_open(self->edu, *self->devfd));
	ASSERT_EQ(0, edu_copy(self->edu, IOVA_A, IOVA_B));
	EXPECT_EQ(0, memcmp(src, dst, LEN));

	edu_close(self->edu);
	close(*self->devfd);
	*self->devfd = -1;
	EXPECT_EQ(0, ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap));
	EXPECT_EQ(page_size, unmap.size);
	unmap.flags = VFIO_DMA_UNMAP_FLAG_ALL;
	unmap.iova = 0;
	unmap.size = 0;
	EXPECT_EQ(0, ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap));
	EXPECT_EQ(page_size, unmap.size);
	/* With no device open, the group can leave its container. */
	EXPECT_EQ(0, ioctl(groupfd, VFIO_GROUP_UNSET_CONTAINER));
	ASSERT_EQ(0, group_status(groupfd, &flags));
	EXPECT_EQ(VFIO_GROUP_FLAGS_VIABLE, flags);
	close(groupfd);
	close(container);
}

#define TYPE1_FLOW(served_by_iommufd)                                          \
	type1_flow(_metadata,                                                  \
		   &(struct type1_flow){ self->bdf, self->mem, self->iommufd, \
					 &self->devfd, &self->edu },           \
		   served_by_iommufd)

TEST_F_TIMEOUT(edu, group_with_type1, 60)
{
	if (!self->found)
		SKIP(return, NO_EDU);
	TYPE1_FLOW(false);
}

TEST_F_TIMEOUT(edu, group_with_iommufd_container, 60)
{
	if (!self->found)
		SKIP(return, NO_EDU);
	TYPE1_FLOW(true);
}

#define MAX_RUNS	5000

/*
 * Attach, then replace, with the Nth fault-injection point failing, for
 * every N until both complete without reaching it: each makes a page table
 * for an IOAS, allocates the VT-d domain and fills it. A failed attach must
 * leave the device bound and attached nowhere, a failed replace the device
 * on its first page table, DMA working through it; neither may leave an
 * object behind. Object IDs are allocated lowest first, so the ID a new
 * IOAS gets tells. KASAN, lockdep and kmemleak watch the error paths.
 *
 * The bind itself is not swept: vfio-pci's open_device() evaluates ACPI
 * methods, and the base kernel's ACPICA corrupts its reference counts when
 * an allocation fails there (a use-after-free at the next close). The
 * iommufd half of a bind is swept by iommufd_fail_nth's mock devices.
 */
/*
 * Unmap against DMA: the edu copies to IOVA_B in a loop while the test
 * unmaps and remaps it. Once IOMMU_IOAS_UNMAP has returned, the device can
 * no longer write the page (the IOTLB was flushed before): the memory,
 * refilled at once, stays as refilled while the DMA goes on faulting.
 */
struct dma_loop {
	struct edu *edu;
	pthread_t thread;
	atomic_bool stop;
	atomic_ulong rounds;
};

static void *dma_loop_fn(void *arg)
{
	struct dma_loop *loop = arg;

	while (!atomic_load(&loop->stop)) {
		/* Blocked or not, each DMA completes. */
		edu_dma_from_ram(loop->edu, IOVA_A, LEN);
		edu_dma_to_ram(loop->edu, IOVA_B, LEN);
		atomic_fetch_add(&loop->rounds, 1);
	}
	return NULL;
}

TEST_F_TIMEOUT(edu, unmap_during_dma, 120)
{
	uint8_t *src = self->mem, *victim = self->mem + page_size;
	struct dma_loop loop = { .edu = &self->edu };
	unsigned int round, intact = 0;
	uint64_t unmapped;
	uint32_t ioas;

	if (!self->found)
		SKIP(return, NO_EDU);
	SRC_AND_VICTIM(&ioas);

	ASSERT_EQ(0, kmsg_write("harness: expect " DMAR_FAULT_RE));
	ASSERT_EQ(0, pthread_create(&loop.thread, NULL, dma_loop_fn, &loop));
	for (round = 0; round != 20; round++) {
		unsigned long before;

		ASSERT_EQ(0, ioas_unmap(self->iommufd, ioas, IOVA_B, page_size,
					&unmapped));
		ASSERT_EQ(page_size, unmapped);
		memset(victim, 0x5a, page_size);
		/* Let a few DMAs try. */
		before = atomic_load(&loop.rounds);
		while (atomic_load(&loop.rounds) < before + 2)
			usleep(1000);
		intact += all_bytes(victim, 0x5a, page_size);
		ASSERT_EQ(0, ioas_map(self->iommufd, ioas, victim, page_size,
				      IOVA_B));
		usleep(20000);
	}
	atomic_store(&loop.stop, true);
	ASSERT_EQ(0, pthread_join(loop.thread, NULL));
	kmsg_write("harness: expect-end");
	EXPECT_EQ(20, intact);

	/* Mapped, the edu writes there still. */
	memset(victim, 0, page_size);
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, IOVA_B, LEN));
	EXPECT_EQ(0, memcmp(src, victim, LEN));
}

/*
 * Devices that go away under their holder. A sysfs write that removes the
 * edu, or unbinds vfio-pci from it, blocks in the kernel until the device
 * file is closed, and meanwhile asks the holder to let go through the
 * request eventfd (VFIO_PCI_REQ_IRQ_INDEX), as VFIO does for QEMU. The
 * test plays the holder: its DMA loop runs until the request comes, then
 * it stops the DMA, closes the device and the removal completes. The
 * device then comes back (a PCI rescan, or a new probe) and works again.
 */
struct unplug {
	struct edu *edu;
	pthread_t thread;
	atomic_bool stop;
	atomic_ulong copies;
	int rc;
	/* The sysfs write that removes the device, in its own thread. */
	char path[PATH_MAX];
	const char *val;
};

static void *unplug_dma_loop(void *arg)
{
	struct unplug *u = arg;

	while (!atomic_load(&u->stop)) {
		u->rc = edu_copy(u->edu, IOVA_A, IOVA_B);
		if (u->rc)
			break;
		atomic_fetch_add(&u->copies, 1);
	}
	return NULL;
}

static void *unplug_write(void *arg)
{
	struct unplug *u = arg;

	u->rc = write_file(u->path, u->val);
	return NULL;
}

/* An eventfd the device signals when the kernel wants it back. */
static int request_eventfd(int devfd)
{
	struct {
		struct vfio_irq_set set;
		int32_t fd;
	} irq = {
		.set = {
			.argsz = sizeof(irq),
			.flags = VFIO_IRQ_SET_DATA_EVENTFD |
				 VFIO_IRQ_SET_ACTION_TRIGGER,
			.index = VFIO_PCI_REQ_IRQ_INDEX,
			.count = 1,
		},
	};

	irq.fd = eventfd(0, EFD_CLOEXEC);
	if (irq.fd < 0)
		return -errno;
	if (ioctl(devfd, VFIO_DEVICE_SET_IRQS, &irq)) {
		close(irq.fd);
		return -errno;
	}
	return irq.fd;
}

/* Wait up to 20 s for @bdf to be there (@present) or gone. */
static bool pci_wait(const char *bdf, bool present)
{
	char path[PATH_MAX];
	int i;

	if (pci_path(path, sizeof(path), bdf, "vendor"))
		return false;
	for (i = 0; i != 2000; i++) {
		if (!access(path, F_OK) == present)
			return true;
		usleep(10000);
	}
	return false;
}

enum unplug_how { UNPLUG_REMOVE, UNPLUG_UNBIND };

/*
 * The edu is open through @devfd, mapped and doing DMA: unplug it @how,
 * play the holder, and bring the device back to vfio-pci.
 */
static void unplug_during_dma(struct __test_metadata *_metadata,
			      struct edu *edu, int devfd, const char *bdf,
			      enum unplug_how how, bool *claimed)
{
	struct unplug dma = { .edu = edu }, removal = {};
	struct pollfd pfd = { .events = POLLIN };
	uint64_t count;

	pfd.fd = request_eventfd(devfd);
	ASSERT_LE(0, pfd.fd);
	ASSERT_EQ(0, pthread_create(&dma.thread, NULL, unplug_dma_loop, &dma));
	usleep(200000);

	if (how == UNPLUG_REMOVE) {
		ASSERT_EQ(0, pci_path(removal.path, sizeof(removal.path), bdf,
				      "remove"));
		removal.val = "1";
	} else {
		snprintf(removal.path, sizeof(removal.path),
			 "/sys/bus/pci/drivers/vfio-pci/unbind");
		removal.val = bdf;
	}
	ASSERT_EQ(0, pthread_create(&removal.thread, NULL, unplug_write,
				    &removal));

	/* The kernel asks for the device back; the removal waits. */
	ASSERT_EQ(1, poll(&pfd, 1, 20000));
	ASSERT_EQ(sizeof(count), read(pfd.fd, &count, sizeof(count)));
	/* Still waiting for us (the driver link is gone already). */
	EXPECT_EQ(EBUSY, pthread_tryjoin_np(removal.thread, NULL));

	atomic_store(&dma.stop, true);
	ASSERT_EQ(0, pthread_join(dma.thread, NULL));
	EXPECT_EQ(0, dma.rc);
	EXPECT_LT(0, dma.copies);
	TH_LOG("%lu copies before the request", (unsigned long)dma.copies);

	/* Letting go completes the removal. */
	edu_close(edu);
	close(devfd);
	close(pfd.fd);
	ASSERT_EQ(0, pthread_join(removal.thread, NULL));
	EXPECT_EQ(0, removal.rc);

	if (how == UNPLUG_REMOVE) {
		EXPECT_TRUE(pci_wait(bdf, false));
		ASSERT_EQ(0, write_file("/sys/bus/pci/rescan", "1"));
		ASSERT_TRUE(pci_wait(bdf, true));
	} else {
		EXPECT_FALSE(pci_driver_is(bdf, "vfio-pci"));
	}
	/* Back to vfio-pci, as the fixture had it. */
	ASSERT_EQ(0, vfio_pci_claim(bdf, claimed));
}

/*
 * The edu @bdf through its cdev, bound to @iommufd and attached to a new
 * IOAS where DMA copies IOVA_A (@mem) to IOVA_B (the next page): the
 * device file, or a negative errno.
 */
static int unplug_open_cdev(const char *bdf, int iommufd, uint8_t *mem,
			    struct edu *edu)
{
	uint32_t devid, ioas;
	int devfd;

	devfd = vfio_cdev_open(bdf);
	if (devfd < 0)
		return devfd;
	if (vfio_bind(devfd, iommufd, &devid) || ioas_alloc(iommufd, &ioas) ||
	    ioas_map(iommufd, ioas, mem, page_size, IOVA_A) ||
	    ioas_map(iommufd, ioas, mem + page_size, page_size, IOVA_B) ||
	    vfio_attach(devfd, &ioas) || edu_open(edu, devfd)) {
		close(devfd);
		return -EIO;
	}
	return devfd;
}

/* The copy from IOVA_A to IOVA_B works. */
static void unplug_expect_copy(struct __test_metadata *_metadata,
			       struct edu *edu, uint8_t *mem, uint8_t seed)
{
	ASSERT_TRUE(edu_alive(edu));
	fill(mem, LEN, seed);
	memset(mem + page_size, 0, LEN);
	ASSERT_EQ(0, edu_copy(edu, IOVA_A, IOVA_B));
	EXPECT_EQ(0, memcmp(mem, mem + page_size, LEN));
}

/*
 * Unplug @how the edu @bdf, open through its cdev and copying, then open
 * it again once back: the new device file in *@devfd.
 */
static void unplug_cdev(struct __test_metadata *_metadata, const char *bdf,
			int iommufd, uint8_t *mem, struct edu *edu, int *devfd,
			bool *claimed, enum unplug_how how)
{
	long pinned = status_kb("VmPin:");
	bool again;
	int old;

	old = unplug_open_cdev(bdf, iommufd, mem, edu);
	ASSERT_LE(0, old);
	unplug_expect_copy(_metadata, edu, mem, 0x3c);
	unplug_during_dma(_metadata, edu, old, bdf, how, &again);
	*claimed |= again;
	/* The page table went with the device: nothing stays pinned. */
	EXPECT_EQ(pinned, status_kb("VmPin:"));

	/* The device that came back works, in the same context. */
	*devfd = unplug_open_cdev(bdf, iommufd, mem, edu);
	ASSERT_LE(0, *devfd);
	unplug_expect_copy(_metadata, edu, mem, 0xc3);
}

TEST_F_TIMEOUT(edu, unplug_remove_cdev, 120)
{
	if (!self->found)
		SKIP(return, NO_EDU);
	unplug_cdev(_metadata, self->bdf, self->iommufd, self->mem, &self->edu,
		    &self->devfd, &self->claimed, UNPLUG_REMOVE);
}

TEST_F_TIMEOUT(edu, unplug_unbind_cdev, 120)
{
	if (!self->found)
		SKIP(return, NO_EDU);
	unplug_cdev(_metadata, self->bdf, self->iommufd, self->mem, &self->edu,
		    &self->devfd, &self->claimed, UNPLUG_UNBIND);
}

/* The same through the group, with an iommufd as its container. */
static void unplug_group(struct __test_metadata *_metadata, const char *bdf,
			 int iommufd, uint8_t *mem, struct edu *edu, int *devfd,
			 bool *claimed, enum unplug_how how)
{
	long pinned = status_kb("VmPin:");
	int groupfd, old;
	uint32_t ioas;
	bool again;

	groupfd = vfio_group_open(bdf);
	ASSERT_LE(0, groupfd);
	ASSERT_EQ(0, ioctl(groupfd, VFIO_GROUP_SET_CONTAINER, &iommufd));
	old = ioctl(groupfd, VFIO_GROUP_GET_DEVICE_FD, bdf);
	ASSERT_LE(0, old);
	ASSERT_EQ(0, compat_ioas(iommufd, &ioas));
	ASSERT_EQ(0, ioas_map(iommufd, ioas, mem, page_size, IOVA_A));
	ASSERT_EQ(0, ioas_map(iommufd, ioas, mem + page_size, page_size,
			      IOVA_B));
	ASSERT_EQ(0, edu_open(edu, old));
	unplug_expect_copy(_metadata, edu, mem, 0x99);

	unplug_during_dma(_metadata, edu, old, bdf, how, &again);
	*claimed |= again;
	/* The group lets go of its container with the file. */
	close(groupfd);
	EXPECT_EQ(pinned, status_kb("VmPin:"));

	*devfd = unplug_open_cdev(bdf, iommufd, mem, edu);
	ASSERT_LE(0, *devfd);
	unplug_expect_copy(_metadata, edu, mem, 0x66);
}

TEST_F_TIMEOUT(edu, unplug_remove_group, 120)
{
	if (!self->found)
		SKIP(return, NO_EDU);
	unplug_group(_metadata, self->bdf, self->iommufd, self->mem,
		     &self->edu, &self->devfd, &self->claimed, UNPLUG_REMOVE);
}

TEST_F_TIMEOUT(edu, unplug_unbind_group, 120)
{
	if (!self->found)
		SKIP(return, NO_EDU);
	unplug_group(_metadata, self->bdf, self->iommufd, self->mem,
		     &self->edu, &self->devfd, &self->claimed, UNPLUG_UNBIND);
}

/* The last IOVA VT-d translates for the edu: its MGAW, from sysfs. */
static uint64_t vtd_last_iova(const char *bdf)
{
	uint64_t cap = vtd_register(bdf, "cap");

	return cap ? (1ULL << (((cap >> 16) & 0x3f) + 1)) - 1 : 0;
}

/*
 * VT-d finishes a page table (its address width, its superpage sizes) at
 * its first attach. IOMMU_HWPT_ALLOC for a device that is not attached
 * attaches it for a moment to have the page table finished and then fills
 * it, so that the IOAS keeps to the unit's address width before any
 * attach. For a device that is attached, that would stop its DMA: a VT-d
 * domain can be filled unfinished, so it is, and VT-d finishes it (drops
 * its extra levels, with everything mapped in it) at its first attach.
 * DMA works through each, and the device never leaves its page table
 * meanwhile.
 */
TEST_F_TIMEOUT(edu, hwpt_alloc_finished, 60)
{
	uint8_t *src = self->mem, *dst = self->mem + page_size;
	struct iommu_iova_range ranges[4];
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.num_iovas = 4,
		.allowed_iovas = (uintptr_t)ranges,
	};
	uint32_t devid, ioas, hwpt, hwpt2, pt_id;
	char field[64];
	uint64_t last;

	if (!self->found)
		SKIP(return, NO_EDU);
	last = vtd_last_iova(self->bdf);
	if (!last)
		SKIP(return, "not behind VT-d");
	if (access(CONTEXTS_FILE, R_OK))
		SKIP(return, "no " CONTEXTS_FILE " (CONFIG_IOMMUFD_DEBUGFS)");
	OPEN_AND_BIND(&devid);
	ASSERT_EQ(0, ioas_alloc(self->iommufd, &ioas));
	ASSERT_EQ(0, ioas_map(self->iommufd, ioas, src, page_size, IOVA_A));
	ASSERT_EQ(0, ioas_map(self->iommufd, ioas, dst, page_size, IOVA_B));

	ASSERT_EQ(0, hwpt_alloc(self->iommufd, devid, ioas, &hwpt));
	snprintf(field, sizeof(field), "aperture=0x0-0x%llx",
		 (unsigned long long)last);
	EXPECT_TRUE(hwpt_has(hwpt, field));
	cmd.ioas_id = ioas;
	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_IOAS_IOVA_RANGES, &cmd));
	ASSERT_EQ(1, cmd.num_iovas);
	EXPECT_EQ(0, ranges[0].start);
	EXPECT_EQ(last, ranges[0].last);
	EXPECT_EQ(0, device_page_table(devid));

	pt_id = hwpt;
	ASSERT_EQ(0, vfio_attach(self->devfd, &pt_id));
	EXPECT_EQ(hwpt, device_page_table(devid));
	ASSERT_EQ(0, edu_open(&self->edu, self->devfd));
	fill(src, LEN, 0x21);
	memset(dst, 0, LEN);
	ASSERT_EQ(0, edu_copy(&self->edu, IOVA_A, IOVA_B));
	EXPECT_EQ(0, memcmp(src, dst, LEN));

	/* Filled unfinished: VT-d's default width, 57 bits, until attached. */
	ASSERT_EQ(0, hwpt_alloc(self->iommufd, devid, ioas, &hwpt2));
	EXPECT_TRUE(hwpt_has(hwpt2, "aperture=0x0-0x1ffffffffffffff"));
	EXPECT_EQ(hwpt, device_page_table(devid));
	fill(src, LEN, 0x32);
	memset(dst, 0, LEN);
	ASSERT_EQ(0, edu_copy(&self->edu, IOVA_A, IOVA_B));
	EXPECT_EQ(0, memcmp(src, dst, LEN));
	pt_id = hwpt2;
	ASSERT_EQ(0, vfio_attach(self->devfd, &pt_id));
	EXPECT_EQ(hwpt2, device_page_table(devid));
	EXPECT_TRUE(hwpt_has(hwpt2, field));
	cmd.num_iovas = 4;
	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_IOAS_IOVA_RANGES, &cmd));
	EXPECT_EQ(last, ranges[cmd.num_iovas - 1].last);
	fill(src, LEN, 0x43);
	memset(dst, 0, LEN);
	ASSERT_EQ(0, edu_copy(&self->edu, IOVA_A, IOVA_B));
	EXPECT_EQ(0, memcmp(src, dst, LEN));

	EXPECT_EQ(0, vfio_detach(self->devfd));
	EXPECT_EQ(0, iommufd_destroy(self->iommufd, hwpt2));
	EXPECT_EQ(0, iommufd_destroy(self->iommufd, hwpt));
}

/* What map_during_first_attach's mapper shares with the test. */
struct mapper {
	int iommufd;
	uint32_t ioas;
	uint8_t *mem;
	atomic_bool stop;
	atomic_ulong maps;
	atomic_int bad_errno;
};

/* Map and unmap a 4 KiB page of the IOAS at one IOVA, then another. */
static void *mapper_fn(void *arg)
{
	struct mapper *m = arg;
	unsigned int i = 0;

	while (!atomic_load(&m->stop)) {
		uint64_t iova = IOVA_C + (i % 2) * page_size;

		if (ioas_map(m->iommufd, m->ioas, m->mem, page_size, iova) ||
		    ioas_unmap(m->iommufd, m->ioas, iova, page_size, NULL))
			atomic_store(&m->bad_errno, errno);
		atomic_fetch_add(&m->maps, 1);
		i++;
	}
	return NULL;
}

/*
 * VT-d finishes a domain at its first attach, when it frees the top-level
 * tables it will not use. A page table made on request while the device
 * is attached is filled before that (VT-d domains can be), so its first
 * attach drops levels under the mappings: a map racing with that attach
 * must not walk the freed tables (KASAN would report it). Every call
 * works, and the edu reaches what the IOAS mapped, through the new page
 * table.
 */
TEST_F_TIMEOUT(edu, map_during_first_attach, 300)
{
	uint8_t *src = self->mem, *dst = self->mem + page_size;
	struct mapper m = { .iommufd = self->iommufd,
			    .mem = self->mem + 2 * page_size };
	unsigned int round, rounds = 30;
	uint32_t devid, pt_id, hwpt;
	pthread_t thread;

	if (!self->found)
		SKIP(return, NO_EDU);
	OPEN_AND_BIND(&devid);
	ASSERT_EQ(0, edu_open(&self->edu, self->devfd));
	for (round = 0; round != rounds; round++) {
		unsigned long maps = atomic_load(&m.maps);

		ASSERT_EQ(0, ioas_alloc(self->iommufd, &m.ioas));
		ASSERT_EQ(0, ioas_map(self->iommufd, m.ioas, src, page_size,
				      IOVA_A));
		ASSERT_EQ(0, ioas_map(self->iommufd, m.ioas, dst, page_size,
				      IOVA_B));
		pt_id = m.ioas;
		ASSERT_EQ(0, vfio_attach(self->devfd, &pt_id));
		ASSERT_EQ(0, hwpt_alloc(self->iommufd, devid, m.ioas, &hwpt));
		atomic_store(&m.stop, false);
		ASSERT_EQ(0, pthread_create(&thread, NULL, mapper_fn, &m));
		while (atomic_load(&m.maps) < maps + 2)
			usleep(20);
		pt_id = hwpt;
		ASSERT_EQ(0, vfio_attach(self->devfd, &pt_id));
		atomic_store(&m.stop, true);
		ASSERT_EQ(0, pthread_join(thread, NULL));
		ASSERT_EQ(0, m.bad_errno);

		fill(src, LEN, round);
		memset(dst, 0, LEN);
		ASSERT_EQ(0, edu_dma_from_ram(&self->edu, IOVA_A, LEN));
		ASSERT_EQ(0, edu_dma_to_ram(&self->edu, IOVA_B, LEN));
		ASSERT_EQ(0, memcmp(src, dst, LEN));

		ASSERT_EQ(0, vfio_detach(self->devfd));
		ASSERT_EQ(0, iommufd_destroy(self->iommufd, hwpt));
		ASSERT_EQ(0, iommufd_destroy(self->iommufd, m.ioas));
	}
	printf("# %u first attaches of filled page tables beside %lu maps\n",
	       rounds, (unsigned long)atomic_load(&m.maps));
}

TEST_F_TIMEOUT(edu, attach_fail_nth, 600)
{
	uint8_t *src = self->mem, *dst = self->mem + page_size;
	unsigned int nth, attach_failed = 0, replace_failed = 0;
	uint32_t devid, ioas[2], hwpt, pt_id, probe;
	bool injected = true;
	int i, rc, err;

	if (!self->found)
		SKIP(return, NO_EDU);
	if (!fault_injection_prepare())
		SKIP(return, "no fault injection (CONFIG_FAULT_INJECTION_DEBUG_FS, debugfs)");
	fill(src, page_size, 0x42);
	for (i = 0; i != 2; i++) {
		ASSERT_EQ(0, ioas_alloc(self->iommufd, &ioas[i]));
		ASSERT_EQ(0, ioas_map(self->iommufd, ioas[i], src, page_size,
				      IOVA_A));
		ASSERT_EQ(0, ioas_map(self->iommufd, ioas[i], dst, page_size,
				      IOVA_B));
	}

	for (nth = 1; nth != MAX_RUNS; nth++) {
		bool attached = false;

		OPEN_AND_BIND(&devid);
		fail_nth_set(nth);
		hwpt = ioas[0];
		rc = vfio_attach(self->devfd, &hwpt);
		if (!rc) {
			attached = true;
			pt_id = ioas[1];
			rc = vfio_attach(self->devfd, &pt_id);
		}
		err = errno;
		injected = fail_nth_stop();
		if (!rc && !injected)
			break;
		if (rc) {
			EXPECT_EQ(ENOMEM, err) TH_LOG("run %u: %s failed: %s", nth,
						      attached ? "replace" : "attach",
						      strerror(err));
			ASSERT_EQ(0, ioas_alloc(self->iommufd, &probe));
			/* The device's ID, then its first page table's. */
			EXPECT_EQ(devid + (attached ? 2 : 1), probe);
			EXPECT_EQ(0, iommufd_destroy(self->iommufd, probe));
		}
		if (rc && attached) {
			replace_failed++;
			memset(dst, 0, page_size);
			ASSERT_EQ(0, edu_open(&self->edu, self->devfd));
			ASSERT_EQ(0, edu_copy(&self->edu, IOVA_A, IOVA_B));
			EXPECT_EQ(0, memcmp(src, dst, LEN));
			edu_close(&self->edu);
		} else if (rc) {
			attach_failed++;
		}
		close(self->devfd);
		self->devfd = -1;
		if (!_metadata->passed)
			return;
	}
	ASSERT_NE(MAX_RUNS, nth);
	printf("# attach and replace: %u runs, %u attaches and %u replaces failed by injection\n",
	       nth, attach_failed, replace_failed);
	/* Both calls must have been reached by some injection. */
	EXPECT_LT(0, attach_failed);
	EXPECT_LT(0, replace_failed);

	memset(dst, 0, page_size);
	ASSERT_EQ(0, edu_open(&self->edu, self->devfd));
	ASSERT_EQ(0, edu_copy(&self->edu, IOVA_A, IOVA_B));
	EXPECT_EQ(0, memcmp(src, dst, LEN));
}

static int kvm_vfio_file(int kvmdev, uint64_t op, int fd)
{
	struct kvm_device_attr attr = {
		.group = KVM_DEV_VFIO_FILE,
		.attr = op,
		.addr = (uintptr_t)&fd,
	};

	return ioctl(kvmdev, KVM_SET_DEVICE_ATTR, &attr);
}

/*
 * KVM's VFIO device takes a device cdev file as it takes a group file. A
 * VMM adds the file before binding it, so that the driver sees the VM
 * when the bind opens the device. KVM learns then whether the device's DMA
 * snoops CPU caches: on VT-d, where the unit has snoop control, since
 * iommufd puts such a device only on page tables that enforce it.
 */
TEST_F(edu, kvm_vfio_device)
{
	struct kvm_create_device create = { .type = KVM_DEV_TYPE_VFIO };
	int kvm, vm, nullfd, groupfd;
	uint32_t devid;
	long noncoherent;

	if (!self->found)
		SKIP(return, NO_EDU);
	kvm = open("/dev/kvm", O_RDWR);
	if (kvm < 0)
		SKIP(return, "no /dev/kvm: KVM found no SVM or VMX to use");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	ASSERT_LE(0, vm);
	ASSERT_EQ(0, ioctl(vm, KVM_CREATE_DEVICE, &create));
	/* ECAP.SC (bit 7): the unit can make DMA snoop. */
	noncoherent = !(vtd_register(self->bdf, "ecap") & (1 << 7));
	EXPECT_EQ(0, kvm_noncoherent_dma(vm));

	self->devfd = vfio_cdev_open(self->bdf);
	ASSERT_LE(0, self->devfd);
	ASSERT_EQ(0, kvm_vfio_file(create.fd, KVM_DEV_VFIO_FILE_ADD,
				   self->devfd));
	EXPECT_EQ(noncoherent, kvm_noncoherent_dma(vm));
	EXPECT_ERRNO(EEXIST, kvm_vfio_file(create.fd, KVM_DEV_VFIO_FILE_ADD,
					   self->devfd));
	nullfd = open("/dev/null", O_RDWR);
	ASSERT_LE(0, nullfd);
	EXPECT_ERRNO(EINVAL, kvm_vfio_file(create.fd, KVM_DEV_VFIO_FILE_ADD,
					   nullfd));
	close(nullfd);
	ASSERT_EQ(0, vfio_bind(self->devfd, self->iommufd, &devid));
	EXPECT_EQ(0, kvm_vfio_file(create.fd, KVM_DEV_VFIO_FILE_DEL,
				   self->devfd));
	EXPECT_ERRNO(ENOENT, kvm_vfio_file(create.fd, KVM_DEV_VFIO_FILE_DEL,
					   self->devfd));
	EXPECT_EQ(0, kvm_noncoherent_dma(vm));
	close(self->devfd);
	self->devfd = -1;

	/*
	 * Group files are accepted as before; a group on an iommufd answers
	 * as its devices' cdevs do.
	 */
	groupfd = vfio_group_open(self->bdf);
	ASSERT_LE(0, groupfd);
	ASSERT_EQ(0, ioctl(groupfd, VFIO_GROUP_SET_CONTAINER, &self->iommufd));
	EXPECT_EQ(0, kvm_vfio_file(create.fd, KVM_DEV_VFIO_FILE_ADD, groupfd));
	EXPECT_EQ(noncoherent, kvm_noncoherent_dma(vm));
	EXPECT_EQ(0, kvm_vfio_file(create.fd, KVM_DEV_VFIO_FILE_DEL, groupfd));
	EXPECT_EQ(0, kvm_noncoherent_dma(vm));
	close(groupfd);
	close(create.fd);
	close(vm);
	close(kvm);
}

/* Whether VM @vmfd of this process still exists: KVM's debugfs has it. */
static bool kvm_vm_exists(int vmfd)
{
	char path[PATH_MAX];

	if (fmt_buf(path, sizeof(path), "/sys/kernel/debug/kvm/%d-%d",
		    getpid(), vmfd))
		return false;
	return !access(path, F_OK);
}

/*
 * The device opened at bind holds the VM it was given, as a driver that
 * uses device->kvm (KVMGT, vfio-ap) needs: the VM outlives its own file
 * and KVM's VFIO device while the device is bound, and goes when the
 * device file is closed.
 */
TEST_F(edu, kvm_held_while_bound)
{
	struct kvm_create_device create = { .type = KVM_DEV_TYPE_VFIO };
	int kvm, vm;
	uint32_t devid;

	if (!self->found)
		SKIP(return, NO_EDU);
	kvm = open("/dev/kvm", O_RDWR);
	if (kvm < 0)
		SKIP(return, "no /dev/kvm: KVM found no SVM or VMX to use");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	ASSERT_LE(0, vm);
	close(kvm);
	if (!kvm_vm_exists(vm)) {
		close(vm);
		SKIP(return, "KVM shows its VMs in no debugfs directory");
	}
	ASSERT_EQ(0, ioctl(vm, KVM_CREATE_DEVICE, &create));

	self->devfd = vfio_cdev_open(self->bdf);
	ASSERT_LE(0, self->devfd);
	ASSERT_EQ(0, kvm_vfio_file(create.fd, KVM_DEV_VFIO_FILE_ADD,
				   self->devfd));
	ASSERT_EQ(0, vfio_bind(self->devfd, self->iommufd, &devid));
	/* Closing KVM's VFIO device lets the device file go from KVM. */
	close(create.fd);
	close(vm);
	EXPECT_TRUE(kvm_vm_exists(vm));
	close(self->devfd);
	self->devfd = -1;
	EXPECT_FALSE(kvm_vm_exists(vm));

	/* A file unbound when the VM goes holds nothing: the VM goes at once. */
	kvm = open("/dev/kvm", O_RDWR);
	ASSERT_LE(0, kvm);
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	ASSERT_LE(0, vm);
	close(kvm);
	ASSERT_EQ(0, ioctl(vm, KVM_CREATE_DEVICE, &create));
	self->devfd = vfio_cdev_open(self->bdf);
	ASSERT_LE(0, self->devfd);
	ASSERT_EQ(0, kvm_vfio_file(create.fd, KVM_DEV_VFIO_FILE_ADD,
				   self->devfd));
	close(create.fd);
	close(vm);
	EXPECT_FALSE(kvm_vm_exists(vm));
	/* Bound afterwards, it must not touch the freed VM (KASAN would say). */
	ASSERT_EQ(0, vfio_bind(self->devfd, self->iommufd, &devid));
}

/*
 * The edus that share an IOMMU group with the virtio-rng, which virtio-pci
 * drives: both edus are given to vfio-pci, the rng is left as it was.
 */
FIXTURE(edu_group)
{
	char bdf[2][NAME_LEN];
	char rng[NAME_LEN];
	bool found;
	bool claimed[2];
	bool rng_bound;		/* virtio-pci had the rng at the start */
	bool rng_claimed;	/* a test gave the rng to vfio-pci */
	int iommufd;
	int devfd[2];
	struct edu edu[2];
	uint8_t *mem;
};

/* The first two edus of the first group with more than one device. */
static int edu_find_shared(char (*bdf)[NAME_LEN], int *group)
{
	char edus[8][NAME_LEN];
	int n, i, found = 0;

	n = edu_find(edus, 8);
	for (i = 0; i < n && found < 2; i++) {
		if (found && pci_group(edus[i]) != *group)
			continue;
		*group = pci_group(edus[i]);
		if (*group < 0 || group_devices(*group, NULL, 0) < 2)
			continue;
		memcpy(bdf[found++], edus[i], NAME_LEN);
	}
	return found == 2 ? 0 : -ENODEV;
}

FIXTURE_SETUP(edu_group)
{
	char devs[8][NAME_LEN], driver[NAME_LEN];
	int group, n, i;

	self->devfd[0] = -1;
	self->devfd[1] = -1;
	self->iommufd = -1;
	if (edu_find_shared(self->bdf, &group))
		SKIP(return, NO_EDU_PAIR);
	self->iommufd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->iommufd);
	self->mem = map_pages();
	ASSERT_NE(NULL, self->mem);

	n = group_devices(group, devs, 8);
	for (i = 0; i < n && i < 8; i++) {
		if (pci_hex(devs[i], "vendor") == VIRTIO_VENDOR)
			memcpy(self->rng, devs[i], NAME_LEN);
	}
	ASSERT_NE(0, self->rng[0]) TH_LOG("no virtio device in group %d",
					  group);
	ASSERT_EQ(0, pci_driver(self->rng, driver, sizeof(driver)));
	self->rng_bound = !strcmp(driver, "virtio-pci");
	ASSERT_TRUE(self->rng_bound || !driver[0]);

	/* Last, and undone here on failure: there is no teardown then. */
	ASSERT_EQ(0, vfio_pci_claim(self->bdf[0], &self->claimed[0]));
	if (vfio_pci_claim(self->bdf[1], &self->claimed[1])) {
		vfio_pci_release(self->bdf[0], self->claimed[0]);
		ASSERT_TRUE(false) TH_LOG("cannot give %s to vfio-pci",
					  self->bdf[1]);
	}
	self->found = true;
}

FIXTURE_TEARDOWN(edu_group)
{
	int i;

	for (i = 0; i != 2; i++) {
		edu_close(&self->edu[i]);
		if (self->devfd[i] >= 0)
			close(self->devfd[i]);
	}
	if (self->iommufd >= 0)
		close(self->iommufd);
	if (self->mem)
		munmap(self->mem, PAGES * page_size);
	if (!self->found)
		return;
	for (i = 0; i != 2; i++)
		EXPECT_EQ(0, vfio_pci_release(self->bdf[i], self->claimed[i]));
	EXPECT_EQ(0, vfio_pci_release(self->rng, self->rng_claimed));
	/* With the devices closed, the group is the kernel's again. */
	if (self->rng_bound && !pci_driver_is(self->rng, "virtio-pci"))
		EXPECT_EQ(0, pci_bind(self->rng, "virtio-pci"));
	if (!self->rng_bound && pci_driver_is(self->rng, "virtio-pci"))
		EXPECT_EQ(0, pci_unbind(self->rng));
}

TEST_F_TIMEOUT(edu_group, multi_device_group, 120)
{
	uint8_t *src = self->mem;
	uint8_t *dst[2] = { self->mem + page_size, self->mem + 2 * page_size };
	const uint64_t dst_iova[2] = { IOVA_B, IOVA_C };
	uint32_t devid[2], hwpt[2], ioas, other, pt_id;
	int i;

	if (!self->found)
		SKIP(return, NO_EDU_PAIR);
	if (!self->rng_bound)
		ASSERT_EQ(0, pci_bind(self->rng, "virtio-pci"));
	for (i = 0; i != 2; i++) {
		self->devfd[i] = vfio_cdev_open(self->bdf[i]);
		ASSERT_LE(0, self->devfd[i]);
	}

	/*
	 * virtio-pci does DMA through the kernel's domain, which owns the
	 * group: no binding (EPERM, as upstream).
	 */
	for (i = 0; i != 2; i++)
		EXPECT_ERRNO(EPERM, vfio_bind(self->devfd[i], self->iommufd,
					      &devid[i]));

	/* Without it, both bind, to one iommufd. */
	ASSERT_EQ(0, pci_unbind(self->rng));
	ASSERT_FALSE(pci_driver_is(self->rng, "virtio-pci"));
	for (i = 0; i != 2; i++)
		ASSERT_EQ(0, vfio_bind(self->devfd[i], self->iommufd,
				       &devid[i]));
	EXPECT_NE(devid[0], devid[1]);
	/* The group is the iommufd's now: no kernel driver may have it. */
	EXPECT_EQ(-EBUSY, pci_bind(self->rng, "virtio-pci"));
	EXPECT_FALSE(pci_driver_is(self->rng, "virtio-pci"));

	/* One group, one page table. */
	ASSERT_EQ(0, ioas_alloc(self->iommufd, &ioas));
	fill(src, page_size, 0x3c);
	ASSERT_EQ(0, ioas_map(self->iommufd, ioas, src, page_size, IOVA_A));
	for (i = 0; i != 2; i++) {
		memset(dst[i], 0, page_size);
		ASSERT_EQ(0, ioas_map(self->iommufd, ioas, dst[i], page_size,
				      dst_iova[i]));
		hwpt[i] = ioas;
		ASSERT_EQ(0, vfio_attach(self->devfd[i], &hwpt[i]));
		EXPECT_NE(ioas, hwpt[i]);
	}
	EXPECT_EQ(hwpt[0], hwpt[1]);

	/* Each edu copies its half of the source to its own page. */
	for (i = 0; i != 2; i++) {
		ASSERT_EQ(0, edu_open(&self->edu[i], self->devfd[i]));
		ASSERT_TRUE(edu_alive(&self->edu[i]));
		ASSERT_EQ(0, edu_dma_from_ram(&self->edu[i],
					      IOVA_A + i * LEN, LEN));
		ASSERT_EQ(0, edu_dma_to_ram(&self->edu[i], dst_iova[i], LEN));
	}
	for (i = 0; i != 2; i++) {
		EXPECT_EQ(0, memcmp(src + i * LEN, dst[i], LEN));
		EXPECT_TRUE(all_bytes(dst[i] + LEN, 0, page_size - LEN));
	}

	/* One device cannot move the group alone; it stays where it was. */
	ASSERT_EQ(0, ioas_alloc(self->iommufd, &other));
	pt_id = other;
	EXPECT_ERRNO(EINVAL, vfio_attach(self->devfd[0], &pt_id));
	memset(dst[0], 0, page_size);
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu[0], dst_iova[0], LEN));
	EXPECT_EQ(0, memcmp(src, dst[0], LEN));
	EXPECT_EQ(-EBUSY, pci_bind(self->rng, "virtio-pci"));

	/* Closing the devices, not the iommufd, gives the group back. */
	for (i = 0; i != 2; i++) {
		edu_close(&self->edu[i]);
		close(self->devfd[i]);
		self->devfd[i] = -1;
	}
	EXPECT_EQ(0, pci_bind(self->rng, "virtio-pci"));
	EXPECT_TRUE(pci_driver_is(self->rng, "virtio-pci"));
}

static int hot_reset_info(int devfd, struct vfio_pci_hot_reset_info *info,
			  uint32_t argsz)
{
	memset(info, 0, argsz);
	info->argsz = argsz;
	return ioctl(devfd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, info);
}

static int hot_reset(int devfd, uint32_t count, int32_t groupfd)
{
	struct {
		struct vfio_pci_hot_reset hdr;
		int32_t fds[1];
	} reset = {
		.hdr.argsz = sizeof(reset),
		.hdr.count = count,
		.fds = { groupfd },
	};

	return ioctl(devfd, VFIO_DEVICE_PCI_HOT_RESET, &reset);
}

/* The entry of @info for PCI device @bdf ("0000:bb:dd.f"), or NULL. */
static struct vfio_pci_dependent_device *
hot_reset_entry(struct vfio_pci_hot_reset_info *info, const char *bdf)
{
	unsigned int seg, bus, dev, fn, i;

	if (sscanf(bdf, "%x:%x:%x.%x", &seg, &bus, &dev, &fn) != 4)
		return NULL;
	for (i = 0; i != info->count; i++) {
		if (info->devices[i].segment == seg &&
		    info->devices[i].bus == bus &&
		    info->devices[i].devfn == ((dev << 3) | fn))
			return &info->devices[i];
	}
	return NULL;
}

/*
 * A bus reset behind the bridge resets both edus and the rng. A device
 * bound through its cdev proves that it owns them all by its iommufd:
 * each is bound there or in a group that is, and vfio-pci has them all.
 */
TEST_F_TIMEOUT(edu_group, hot_reset_by_devid, 60)
{
	struct {
		struct vfio_pci_hot_reset_info hdr;
		struct vfio_pci_dependent_device devices[8];
	} info;
	struct vfio_pci_dependent_device *dep;
	uint32_t devid, ids = VFIO_PCI_HOT_RESET_FLAG_DEV_ID;

	if (!self->found)
		SKIP(return, NO_EDU_PAIR);
	if (self->rng_bound)
		ASSERT_EQ(0, pci_unbind(self->rng));
	self->devfd[0] = vfio_cdev_open(self->bdf[0]);
	ASSERT_LE(0, self->devfd[0]);
	ASSERT_EQ(0, vfio_bind(self->devfd[0], self->iommufd, &devid));

	/* Too small for the three devices: ENOSPC and the count. */
	EXPECT_ERRNO(ENOSPC, hot_reset_info(self->devfd[0], &info.hdr,
					    sizeof(info.hdr)));
	EXPECT_EQ(3, info.hdr.count);

	/* The rng has no driver: it is not vfio-pci's, so not owned. */
	ASSERT_EQ(0, hot_reset_info(self->devfd[0], &info.hdr, sizeof(info)));
	EXPECT_EQ(ids, info.hdr.flags);
	ASSERT_EQ(3, info.hdr.count);
	dep = hot_reset_entry(&info.hdr, self->bdf[0]);
	ASSERT_NE(NULL, dep);
	EXPECT_EQ(devid, dep->devid);
	dep = hot_reset_entry(&info.hdr, self->bdf[1]);
	ASSERT_NE(NULL, dep);
	EXPECT_EQ(VFIO_PCI_DEVID_OWNED, dep->devid);
	dep = hot_reset_entry(&info.hdr, self->rng);
	ASSERT_NE(NULL, dep);
	EXPECT_EQ((uint32_t)VFIO_PCI_DEVID_NOT_OWNED, dep->devid);
	EXPECT_ERRNO(EINVAL, hot_reset(self->devfd[0], 0, -1));

	/* With the rng given to vfio-pci too, the iommufd owns all three. */
	ASSERT_EQ(0, vfio_pci_claim(self->rng, &self->rng_claimed));
	ASSERT_EQ(0, hot_reset_info(self->devfd[0], &info.hdr, sizeof(info)));
	EXPECT_EQ(ids | VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED, info.hdr.flags);
	dep = hot_reset_entry(&info.hdr, self->rng);
	ASSERT_NE(NULL, dep);
	EXPECT_EQ(VFIO_PCI_DEVID_OWNED, dep->devid);

	/* A cdev device passes no group fds; then the reset is done. */
	EXPECT_ERRNO(EINVAL, hot_reset(self->devfd[0], 1, self->iommufd));
	EXPECT_EQ(0, hot_reset(self->devfd[0], 0, -1));

	/* The edu is still there and still reachable after the reset. */
	ASSERT_EQ(0, edu_open(&self->edu[0], self->devfd[0]));
	EXPECT_TRUE(edu_alive(&self->edu[0]));
}

/*
 * The same reset through the group, as before cdevs: the info gives each
 * affected device's group, and the reset takes the fds of groups that
 * hold every device it resets, all of them vfio-pci's (the rng too).
 */
TEST_F_TIMEOUT(edu_group, hot_reset_by_group, 60)
{
	struct {
		struct vfio_pci_hot_reset_info hdr;
		struct vfio_pci_dependent_device devices[8];
	} info;
	const char *const devs[] = { self->bdf[0], self->bdf[1], self->rng };
	struct vfio_pci_dependent_device *dep;
	int group, groupfd;
	unsigned int i;

	if (!self->found)
		SKIP(return, NO_EDU_PAIR);
	if (self->rng_bound)
		ASSERT_EQ(0, pci_unbind(self->rng));
	ASSERT_EQ(0, vfio_pci_claim(self->rng, &self->rng_claimed));
	group = pci_group(self->bdf[0]);
	groupfd = vfio_group_open(self->bdf[0]);
	ASSERT_LE(0, groupfd);
	ASSERT_EQ(0, ioctl(groupfd, VFIO_GROUP_SET_CONTAINER, &self->iommufd));
	self->devfd[0] = ioctl(groupfd, VFIO_GROUP_GET_DEVICE_FD, self->bdf[0]);
	ASSERT_LE(0, self->devfd[0]);

	ASSERT_EQ(0, hot_reset_info(self->devfd[0], &info.hdr, sizeof(info)));
	EXPECT_EQ(0, info.hdr.flags);
	ASSERT_EQ(3, info.hdr.count);
	for (i = 0; i != ARRAY_SIZE(devs); i++) {
		dep = hot_reset_entry(&info.hdr, devs[i]);
		ASSERT_NE(NULL, dep) TH_LOG("no entry for %s", devs[i]);
		EXPECT_EQ(group, dep->group_id);
	}

	/* Only group fds count, and none is no proof. */
	EXPECT_ERRNO(EINVAL, hot_reset(self->devfd[0], 1, self->iommufd));
	EXPECT_ERRNO(EINVAL, hot_reset(self->devfd[0], 0, -1));
	EXPECT_EQ(0, hot_reset(self->devfd[0], 1, groupfd))
		TH_LOG("reset: %s", strerror(errno));

	ASSERT_EQ(0, edu_open(&self->edu[0], self->devfd[0]));
	EXPECT_TRUE(edu_alive(&self->edu[0]));
	close(groupfd);
}

/*
 * Two contexts race to bind the two edus of one group, each its own: the
 * group goes to one owner, so in every round exactly one bind succeeds and
 * the other gets EPERM, whichever runs first. Each close of the bound
 * device resets it; under TCG on a busy host the rounds once took more
 * than two minutes, hence the long limit (the time is logged). A stuck
 * bind would show as a hung task first.
 */
#define BIND_RACE_ROUNDS 50

struct bind_race {
	pthread_barrier_t *barrier;
	const char *bdf;
	int iommufd;
	int err[BIND_RACE_ROUNDS];
};

static void *bind_race_fn(void *arg)
{
	struct bind_race *race = arg;
	unsigned int round;
	int devfd;

	for (round = 0; round != BIND_RACE_ROUNDS; round++) {
		devfd = vfio_cdev_open(race->bdf);
		pthread_barrier_wait(race->barrier);
		race->err[round] = devfd < 0 ? -devfd :
				   vfio_bind(devfd, race->iommufd, NULL) ?
				   errno : 0;
		/* Both have tried before either lets go. */
		pthread_barrier_wait(race->barrier);
		if (devfd >= 0)
			close(devfd);
		pthread_barrier_wait(race->barrier);
	}
	return NULL;
}

TEST_F_TIMEOUT(edu_group, two_contexts_bind_race, 300)
{
	struct bind_race race[2] = {};
	pthread_barrier_t barrier;
	pthread_t thread[2];
	unsigned int round, won[2] = {};
	struct timespec start;
	int i;

	if (!self->found)
		SKIP(return, NO_EDU_PAIR);
	/* No kernel driver in the group, so that it can be handed out. */
	if (self->rng_bound)
		ASSERT_EQ(0, pci_unbind(self->rng));
	ASSERT_EQ(0, pthread_barrier_init(&barrier, NULL, 2));
	for (i = 0; i != 2; i++) {
		race[i].barrier = &barrier;
		race[i].bdf = self->bdf[i];
		race[i].iommufd = open("/dev/iommu", O_RDWR);
		ASSERT_LE(0, race[i].iommufd);
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (i = 0; i != 2; i++)
		ASSERT_EQ(0, pthread_create(&thread[i], NULL, bind_race_fn,
					    &race[i]));
	for (i = 0; i != 2; i++)
		ASSERT_EQ(0, pthread_join(thread[i], NULL));
	TH_LOG("%d rounds in %ld ms", BIND_RACE_ROUNDS, ms_since(&start));

	for (round = 0; round != BIND_RACE_ROUNDS; round++) {
		EXPECT_TRUE((!race[0].err[round] && race[1].err[round] == EPERM) ||
			    (race[0].err[round] == EPERM && !race[1].err[round]))
			TH_LOG("round %u: errno %d and %d", round,
			       race[0].err[round], race[1].err[round]);
		won[0] += !race[0].err[round];
		won[1] += !race[1].err[round];
	}
	TH_LOG("the first edu's context won %u rounds, the second's %u",
	       won[0], won[1]);
	pthread_barrier_destroy(&barrier);
	for (i = 0; i != 2; i++)
		close(race[i].iommufd);
}

TEST_HARNESS_MAIN
