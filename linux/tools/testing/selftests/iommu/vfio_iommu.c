// SPDX-License-Identifier: GPL-2.0-only
/*
 * QEMU's "edu" PCI device through VFIO, on whatever IOMMU translates it
 * (VT-d, AMD-Vi, virtio-iommu or SMMUv3), on each way userspace reaches a
 * device: its cdev bound to /dev/iommu, its group given an iommufd, the
 * container /dev/vfio/vfio served by iommufd, and by VFIO's type1, which is
 * the reference. On each way:
 *
 *  - DMA both ways, RAM to the edu's buffer and back, the data checked;
 *  - DMA blocked after unmap: the write lands nowhere and the IOMMU reports
 *    the fault (in a "harness: expect" window, see harness/judge.sh);
 *  - an MSI from the edu delivered through the IOMMU to an eventfd;
 *  - the IOVA ranges: what type1 reports for the same device, and what the
 *    machine's IOMMU has as aperture (IOMMU_IOVA_LAST, the last IOVA, from
 *    the environment);
 *  - cache coherency enforced when type1 enforces it (VT-d with snoop
 *    control), and iommufd's debugfs view of the page table saying so;
 *  - an MSI cookie on the page table when the device's MSIs go through a
 *    software-managed window (IOMMU_RESV_SW_MSI, SMMUv3 with a GICv3 ITS);
 *  - MSI isolation: an IOMMU without interrupt remapping (virtio-iommu)
 *    refuses the device with EPERM until allow_unsafe_interrupts is set.
 *
 * The machine has an edu alone in its IOMMU group, which the tests give to
 * vfio-pci and release. The IOMMU is told by the name of its sysfs device.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "vfio_edu_util.h"

/* IOVAs the edu can reach (below EDU_IOVA_LIMIT), pages apart. */
#define IOVA_A		0x100000ULL
#define IOVA_B		0x200000ULL
#define LEN		1024	/* short of the edu's buffer end */
#define PAGES		2
/*
 * The blocked copy is one word: the SMMU and virtio-iommu report every
 * faulting word, at most ten reports per five seconds, so a longer copy in
 * one path would silence the report the next path waits for.
 */
#define FAULT_LEN	4

/* edu interrupt registers (QEMU docs/specs/edu.txt) */
#define EDU_REG_IRQ_STATUS	0x24
#define EDU_REG_IRQ_RAISE	0x60
#define EDU_REG_IRQ_ACK		0x64
#define EDU_IRQ_TEST		0x4000	/* a bit of our choice */
#define MSI_TIMEOUT_MS		5000

#define NO_EDU		"no edu device alone in its IOMMU group"
#define NO_REPORT	"the write was blocked, but %s logs no fault for an unmapped IOVA"
#define IOMMUFD_UNSAFE	"/sys/module/iommufd/parameters/allow_unsafe_interrupts"
#define TYPE1_UNSAFE	"/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts"
#define DEBUGFS_CONTEXTS "/sys/kernel/debug/iommufd/contexts"

#define MAX_RANGES	16

/*
 * The IOMMUs a 6.1 machine may have, by the name of their sysfs device
 * (/sys/class/iommu/NAME; virtio-iommu's is named after its transport and
 * sits under the virtio device): the console lines of a blocked DMA's
 * report, as a regex for the judge, and whether they isolate MSIs.
 */
enum iommu_kind { IOMMU_VTD, IOMMU_AMD, IOMMU_VIRTIO, IOMMU_SMMUV3 };

static const struct iommu_desc {
	enum iommu_kind kind;
	const char *prefix;
	const char *fault_re;
	bool isolates_msi;
} iommus[] = {
	{ IOMMU_VTD, "dmar",
	  "DMAR: (DRHD: handling fault status|\\[DMA (Read|Write) )", true },
	/*
	 * QEMU 7.2's AMD-Vi logs no event for an access through a page table
	 * entry that is zero, as an unmapped one is: it only blocks it.
	 */
	{ IOMMU_AMD, "ivhd", NULL, true },
	/* No interrupt remapping: MSIs bypass the IOMMU. */
	{ IOMMU_VIRTIO, "/virtio", "fault from EP [0-9]+ ", false },
	/* The ITS tells devices apart by their stream ID. */
	{ IOMMU_SMMUV3, "smmu3.", "arm-smmu-v3 [^ ]*: event 0x[0-9a-f]+ received",
	  true },
};

/* The IOMMU that translates PCI device @bdf, or NULL. */
static const struct iommu_desc *iommu_of(const char *bdf, char *name,
					 size_t size)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *prefix;
	ssize_t len;
	size_t i;

	if (pci_path(path, sizeof(path), bdf, "iommu") ||
	    link_name(path, name, size))
		return NULL;
	len = readlink(path, target, sizeof(target) - 1);
	if (len < 0)
		return NULL;
	target[len] = 0;
	for (i = 0; i < ARRAY_SIZE(iommus); i++) {
		prefix = iommus[i].prefix;
		/* "/virtio": a virtio device above the IOMMU's */
		if (prefix[0] == '/' ? !!strstr(target, prefix) :
		    !strncmp(name, prefix, strlen(prefix)))
			return &iommus[i];
	}
	return NULL;
}

/* PCI requester ID of "DDDD:BB:DD.F": the SMMU's stream ID, virtio's EP. */
static unsigned int pci_rid(const char *bdf)
{
	unsigned int dom, bus, dev, fn;

	if (sscanf(bdf, "%x:%x:%x.%x", &dom, &bus, &dev, &fn) != 4)
		return ~0u;
	return bus << 8 | dev << 3 | fn;
}

/*
 * Wait for the IOMMU's report of a blocked DMA write by @bdf to @iova:
 *  VT-d:    "DMAR: [DMA Write NO_PASID] Request device [00:05.0] fault addr
 *           0x200000 [fault reason 0x05] PTE Write access is not set"
 *  virtio:  "virtio_iommu virtio0: page fault from EP 40 at 0x200000 []",
 *           one for each word the edu tried to write
 *  SMMUv3:  "arm-smmu-v3 9050000.smmuv3: event 0x10 received:", then the
 *           event's four words, one a line: the stream ID in the upper
 *           half of the first, the address in the third.
 */
static int fault_wait(int kmsg, const struct iommu_desc *iommu,
		      const char *bdf, uint64_t iova, char *line, size_t size)
{
	unsigned long long addr = iova;
	char who[128], what[64];
	int rc;

	switch (iommu->kind) {
	case IOMMU_VTD:
		return dma_fault_wait(kmsg, bdf, iova, true, line, size);
	case IOMMU_VIRTIO:
		/* (QEMU 7.2 sets no read or write flag: "[]".) */
		fmt_buf(who, sizeof(who), "fault from EP %u at 0x%llx [",
			pci_rid(bdf), addr);
		return kmsg_wait(kmsg, (const char *const[]){ who, NULL },
				 EDU_DMA_TIMEOUT_MS, line, size);
	case IOMMU_AMD:
		break;	/* see iommus[] */
	case IOMMU_SMMUV3:
		rc = kmsg_wait(kmsg, (const char *const[]){
			"arm-smmu-v3 ", ": event 0x", " received:", NULL },
			EDU_DMA_TIMEOUT_MS, line, size);
		/* (/dev/kmsg shows the tab that starts them as "\x09".) */
		fmt_buf(who, sizeof(who), "0x%08x", pci_rid(bdf));
		if (!rc)
			rc = kmsg_wait(kmsg, (const char *const[]){ who, NULL },
				       EDU_DMA_TIMEOUT_MS, line, size);
		fmt_buf(what, sizeof(what), "0x%016llx", addr);
		if (!rc)
			rc = kmsg_wait(kmsg, (const char *const[]){ what, NULL },
				       EDU_DMA_TIMEOUT_MS, line, size);
		return rc;
	}
	return -EINVAL;
}

/*
 * Wait until the IOMMU has reported nothing more for @quiet_ms: a blocked
 * DMA can be reported more than once (virtio-iommu reports every word),
 * and every report must land inside the judge's window.
 */
static void fault_drain(int kmsg, const struct iommu_desc *iommu,
			int quiet_ms)
{
	const char *family = iommu->kind == IOMMU_VTD ? "DMAR: " :
			     iommu->kind == IOMMU_VIRTIO ? "fault from EP " :
			     "arm-smmu-v3 ";
	char line[512];

	while (!kmsg_wait(kmsg, (const char *const[]){ family, NULL },
			  quiet_ms, line, sizeof(line)))
		;
}

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

struct range {
	uint64_t start, last;
};

/* The IOVA ranges reported through a container, type1's or iommufd's. */
static int container_ranges(int container, struct range *r, int max)
{
	struct vfio_iommu_type1_info_cap_iova_range *cap;
	struct vfio_iommu_type1_info *info;
	struct vfio_info_cap_header *hdr;
	uint32_t argsz = sizeof(*info), off, i;
	int n = -ENOENT;

	info = calloc(1, argsz);
	if (!info)
		return -ENOMEM;
	info->argsz = argsz;
	if (ioctl(container, VFIO_IOMMU_GET_INFO, info))
		goto out_errno;
	argsz = info->argsz;
	free(info);
	info = calloc(1, argsz);
	if (!info)
		return -ENOMEM;
	info->argsz = argsz;
	if (ioctl(container, VFIO_IOMMU_GET_INFO, info))
		goto out_errno;
	if (!(info->flags & VFIO_IOMMU_INFO_CAPS))
		goto out;
	for (off = info->cap_offset; off && off + sizeof(*hdr) <= argsz;
	     off = hdr->next) {
		hdr = (void *)((char *)info + off);
		if (hdr->id != VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE)
			continue;
		cap = (void *)hdr;
		for (i = 0; i < cap->nr_iovas && (int)i < max; i++) {
			r[i].start = cap->iova_ranges[i].start;
			r[i].last = cap->iova_ranges[i].end;
		}
		n = cap->nr_iovas;
		break;
	}
	goto out;
out_errno:
	n = -errno;
out:
	free(info);
	return n;
}

/* The IOVA ranges of IOAS @ioas. */
static int ioas_ranges(int iommufd, uint32_t ioas, struct range *r, int max)
{
	struct iommu_iova_range ranges[MAX_RANGES];
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas,
		.num_iovas = MAX_RANGES,
		.allowed_iovas = (uintptr_t)ranges,
	};
	uint32_t i;

	if (ioctl(iommufd, IOMMU_IOAS_IOVA_RANGES, &cmd))
		return -errno;
	for (i = 0; i < cmd.num_iovas && (int)i < max && i < MAX_RANGES; i++) {
		r[i].start = ranges[i].start;
		r[i].last = ranges[i].last;
	}
	return cmd.num_iovas;
}

static void print_ranges(const char *who, const struct range *r, int n)
{
	char buf[1024];
	size_t len = 0;
	int i;

	buf[0] = 0;
	for (i = 0; i < n && i < MAX_RANGES && len < sizeof(buf); i++)
		len += snprintf(buf + len, sizeof(buf) - len, " [0x%llx-0x%llx]",
				(unsigned long long)r[i].start,
				(unsigned long long)r[i].last);
	printf("# %s IOVA ranges:%s\n", who, n > 0 ? buf : " none");
}

/*
 * What iommufd's debugfs view says of the page table that holds a device
 * in IOAS @ioas of one of this process's contexts: a line such as
 *   "  3 hw_pagetable ioas=2 devices=1 auto aperture=0x0-0x7fffffffff
 *    pgsizes=0x40201000 coherent=yes msi_cookie=no"
 * under "context tgid=<our pid> ...". 0, -ENOENT without such a line, or
 * -EPROTO when the line lacks a field.
 */
struct hwpt_view {
	uint64_t aperture_start, aperture_last;
	bool coherent;
	bool msi_cookie;
};

static int hwpt_view(uint32_t ioas, struct hwpt_view *view)
{
	char line[512], want[64], *p;
	unsigned long long start, last;
	bool ours = false;
	int rc = -ENOENT;
	unsigned int id;
	FILE *f;

	f = fopen(DEBUGFS_CONTEXTS, "r");
	if (!f)
		return -errno;
	fmt_buf(want, sizeof(want), " hw_pagetable ioas=%u devices=", ioas);
	while (rc == -ENOENT && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "context ", 8)) {
			ours = strstr(line, " tgid=") &&
			       atoi(strstr(line, " tgid=") + 6) == getpid();
			continue;
		}
		p = strstr(line, want);
		if (!ours || !p || sscanf(line, " %u", &id) != 1 ||
		    atoi(p + strlen(want)) < 1)
			continue;
		rc = -EPROTO;
		p = strstr(line, " aperture=");
		if (!p || sscanf(p, " aperture=0x%llx-0x%llx", &start,
				 &last) != 2)
			break;
		view->aperture_start = start;
		view->aperture_last = last;
		p = strstr(line, " coherent=");
		if (!p)
			break;
		view->coherent = !strncmp(p, " coherent=yes", 13);
		p = strstr(line, " msi_cookie=");
		if (!p)
			break;
		view->msi_cookie = !strncmp(p, " msi_cookie=yes", 15);
		rc = 0;
	}
	fclose(f);
	return rc;
}

/*
 * Whether the device's MSIs go through a software-managed window that its
 * domain needs an MSI cookie for (IOMMU_RESV_SW_MSI). reserved_regions
 * calls both kinds "msi"; a hardware window (IOMMU_RESV_MSI) is only ever
 * x86's interrupt address range, 0xfee00000-0xfeefffff, where no
 * software-managed window ever is.
 */
static int needs_msi_cookie(const char *bdf)
{
	char path[PATH_MAX], type[32];
	unsigned long long start, end;
	bool sw_msi = false;
	int group;
	FILE *f;

	group = pci_group(bdf);
	if (group < 0)
		return group;
	fmt_buf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/reserved_regions",
		group);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fscanf(f, "%llx %llx %31s", &start, &end, type) == 3) {
		if (strcmp(type, "msi") ||
		    (start == 0xfee00000 && end == 0xfeefffff))
			continue;
		sw_msi = true;
	}
	fclose(f);
	return sw_msi;
}

/* VT-d's snoop control (extended capability bit 7) of @iommu_name. */
static int vtd_snoop_control(const char *iommu_name)
{
	char path[PATH_MAX], val[32];
	int rc;

	rc = fmt_buf(path, sizeof(path), "/sys/class/iommu/%s/intel-iommu/ecap",
		     iommu_name);
	if (!rc)
		rc = read_str(path, val, sizeof(val));
	return rc ? rc : !!(strtoull(val, NULL, 16) & (1ULL << 7));
}

static bool param_exists(const char *path)
{
	return !access(path, W_OK);
}

enum path { PATH_CDEV, PATH_GROUP, PATH_COMPAT, PATH_TYPE1 };

FIXTURE(vfio_iommu)
{
	char bdf[NAME_LEN];
	char iommu_name[NAME_LEN];
	const struct iommu_desc *iommu;
	bool found;
	bool claimed;
	int iommufd;	/* /dev/iommu (cdev, group) */
	int container;	/* /dev/vfio/vfio (compat, type1) */
	int groupfd;
	int devfd;
	uint32_t ioas;	/* the device's IOAS, but for type1 */
	struct edu edu;
	uint8_t *mem;	/* PAGES pages to map */
	size_t page_size;
	unsigned long container_type;	/* 0: VFIO_TYPE1v2_IOMMU */
};

FIXTURE_VARIANT(vfio_iommu)
{
	enum path path;
};

/* The device cdev, bound to /dev/iommu and attached to a new IOAS. */
FIXTURE_VARIANT_ADD(vfio_iommu, cdev)
{
	.path = PATH_CDEV,
};

/* The group, given an iommufd: the device joins the compatibility IOAS. */
FIXTURE_VARIANT_ADD(vfio_iommu, group_iommufd)
{
	.path = PATH_GROUP,
};

/* /dev/vfio/vfio served by iommufd (vfio.iommufd_container=1). */
FIXTURE_VARIANT_ADD(vfio_iommu, container_iommufd)
{
	.path = PATH_COMPAT,
};

/* /dev/vfio/vfio served by VFIO's type1: the reference. */
FIXTURE_VARIANT_ADD(vfio_iommu, container_type1)
{
	.path = PATH_TYPE1,
};

/*
 * Without interrupt remapping, the tests need both allow_unsafe_interrupts
 * parameters; msi_isolation checks the refusal without them first.
 */
static int set_unsafe_interrupts(bool on)
{
	int rc;

	rc = write_file(IOMMUFD_UNSAFE, on ? "Y" : "N");
	if (!rc && param_exists(TYPE1_UNSAFE))
		rc = write_file(TYPE1_UNSAFE, on ? "Y" : "N");
	return rc;
}

/*
 * The edu alone in its IOMMU group, in @bdf. Where the IOMMU is found
 * through firmware tables (virtio-iommu's VIOT, the SMMU's device tree),
 * 6.1 puts a device into a group only when a driver binds it: an edu
 * without a group is given to vfio-pci to see where it lands.
 */
static int edu_find_alone(char *bdf)
{
	char edus[8][NAME_LEN];
	bool claimed;
	int n, i, group;

	n = edu_find(edus, 8);
	for (i = 0; i < n && i < 8; i++) {
		group = pci_group(edus[i]);
		if (group < 0 && !vfio_pci_claim(edus[i], &claimed)) {
			group = pci_group(edus[i]);
			vfio_pci_release(edus[i], claimed);
		}
		if (group >= 0 && group_devices(group, NULL, 0) == 1) {
			memcpy(bdf, edus[i], NAME_LEN);
			return 0;
		}
	}
	return -ENODEV;
}

FIXTURE_SETUP(vfio_iommu)
{
	self->devfd = -1;
	self->groupfd = -1;
	self->iommufd = -1;
	self->container = -1;
	self->page_size = sysconf(_SC_PAGESIZE);
	if (edu_find_alone(self->bdf))
		SKIP(return, NO_EDU);
	self->iommu = iommu_of(self->bdf, self->iommu_name,
			       sizeof(self->iommu_name));
	if (!self->iommu)
		SKIP(return, "the edu's IOMMU (%s) is not VT-d, AMD-Vi, virtio-iommu or SMMUv3",
		     self->iommu_name);
	if ((variant->path == PATH_COMPAT || variant->path == PATH_TYPE1) &&
	    !param_exists(IOMMUFD_CONTAINER))
		SKIP(return, "no %s: this kernel cannot pick who serves /dev/vfio/vfio",
		     IOMMUFD_CONTAINER);
	if (!self->iommu->isolates_msi)
		ASSERT_EQ(0, set_unsafe_interrupts(true));
	self->mem = mmap(NULL, PAGES * self->page_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	/* Last: a setup that fails has no teardown to undo it. */
	ASSERT_EQ(0, vfio_pci_claim(self->bdf, &self->claimed));
	self->found = true;
}

/* Close what path_open() opened, the device first. */
static void path_close(struct _test_data_vfio_iommu *self)
{
	edu_close(&self->edu);
	if (self->devfd >= 0)
		close(self->devfd);
	if (self->groupfd >= 0)
		close(self->groupfd);
	if (self->container >= 0)
		close(self->container);
	if (self->iommufd >= 0)
		close(self->iommufd);
	self->devfd = -1;
	self->groupfd = -1;
	self->iommufd = -1;
	self->container = -1;
}

FIXTURE_TEARDOWN(vfio_iommu)
{
	path_close(self);
	if (self->mem && self->mem != MAP_FAILED)
		munmap(self->mem, PAGES * self->page_size);
	/* The device must be closed for vfio-pci to let it go. */
	if (self->found)
		EXPECT_EQ(0, vfio_pci_release(self->bdf, self->claimed));
}

/*
 * The device file of the edu by way of @path, attached to an IOAS (or
 * type1's container) with nothing mapped: 0 or the -errno of the first step
 * that failed. What was opened is left for path_close().
 */
static int path_open(struct _test_data_vfio_iommu *self, enum path path)
{
	uint32_t pt;
	int fd;

	switch (path) {
	case PATH_CDEV:
		self->iommufd = open("/dev/iommu", O_RDWR);
		if (self->iommufd < 0)
			return -errno;
		self->devfd = vfio_cdev_open(self->bdf);
		if (self->devfd < 0)
			return self->devfd;
		if (vfio_bind(self->devfd, self->iommufd, NULL) ||
		    ioas_alloc(self->iommufd, &self->ioas))
			return -errno;
		pt = self->ioas;	/* becomes the page table's ID */
		return vfio_attach(self->devfd, &pt) ? -errno : 0;
	case PATH_GROUP:
		self->iommufd = open("/dev/iommu", O_RDWR);
		if (self->iommufd < 0)
			return -errno;
		fd = self->iommufd;
		break;
	case PATH_COMPAT:
	case PATH_TYPE1:
		self->container = vfio_container_open(path == PATH_COMPAT);
		if (self->container < 0)
			return self->container;
		fd = self->container;
		break;
	default:
		return -EINVAL;
	}
	self->groupfd = vfio_group_open(self->bdf);
	if (self->groupfd < 0)
		return self->groupfd;
	if (ioctl(self->groupfd, VFIO_GROUP_SET_CONTAINER, &fd))
		return -errno;
	if (path != PATH_GROUP &&
	    ioctl(self->container, VFIO_SET_IOMMU,
		  self->container_type ?: VFIO_TYPE1v2_IOMMU))
		return -errno;
	self->devfd = ioctl(self->groupfd, VFIO_GROUP_GET_DEVICE_FD, self->bdf);
	if (self->devfd < 0)
		return -errno;
	if (path != PATH_TYPE1 && compat_ioas(fd, &self->ioas))
		return -errno;
	return 0;
}

/*
 * Map @len bytes at @buf at @iova for device reads, and for device writes
 * too if @device_writes.
 */
static int path_map_prot(struct _test_data_vfio_iommu *self, void *buf,
			 size_t len, uint64_t iova, bool device_writes)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ |
			 (device_writes ? VFIO_DMA_MAP_FLAG_WRITE : 0),
		.vaddr = (uintptr_t)buf,
		.iova = iova,
		.size = len,
	};

	if (self->container < 0)
		return ioas_map_prot(self->iommufd, self->ioas, buf, len, iova,
				     device_writes);
	return ioctl(self->container, VFIO_IOMMU_MAP_DMA, &map);
}

/* Map @len bytes at @buf for device reads and writes at @iova. */
static int path_map(struct _test_data_vfio_iommu *self, void *buf, size_t len,
		    uint64_t iova)
{
	return path_map_prot(self, buf, len, iova, true);
}

static int path_unmap(struct _test_data_vfio_iommu *self, uint64_t iova,
		      size_t len)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = len,
	};
	uint64_t unmapped = 0;
	int rc;

	if (self->container >= 0) {
		rc = ioctl(self->container, VFIO_IOMMU_UNMAP_DMA, &unmap);
		unmapped = unmap.size;
	} else {
		rc = ioas_unmap(self->iommufd, self->ioas, iova, len, &unmapped);
	}
	if (!rc && unmapped != len)
		return errno = EIO, -1;
	return rc;
}

/* The IOVA ranges this path reports for its device. */
static int path_ranges(struct _test_data_vfio_iommu *self, struct range *r)
{
	if (self->container >= 0)
		return container_ranges(self->container, r, MAX_RANGES);
	return ioas_ranges(self->iommufd, self->ioas, r, MAX_RANGES);
}

/* After a check of self->found: the device by the variant's path. */
#define OPEN_PATH()                                                            \
	do {                                                                   \
		ASSERT_EQ(0, path_open(self, variant->path));                  \
		ASSERT_EQ(0, edu_open(&self->edu, self->devfd));               \
		ASSERT_TRUE(edu_alive(&self->edu));                            \
	} while (0)

/*
 * First on each path: an IOMMU without interrupt remapping is refused with
 * EPERM, by iommufd at bind and by type1 at VFIO_SET_IOMMU, unless
 * allow_unsafe_interrupts says otherwise; one with it needs no parameter.
 */
TEST_F_TIMEOUT(vfio_iommu, msi_isolation, 120)
{
	int rc;

	if (!self->found)
		SKIP(return, NO_EDU);
	ASSERT_EQ(0, set_unsafe_interrupts(false));
	rc = path_open(self, variant->path);
	path_close(self);
	if (self->iommu->isolates_msi) {
		EXPECT_EQ(0, rc);
		return;
	}
	EXPECT_EQ(-EPERM, rc);
	ASSERT_EQ(0, set_unsafe_interrupts(true));
	EXPECT_EQ(0, path_open(self, variant->path));
}

/* RAM to the edu's buffer and back to other RAM, through the IOMMU. */
TEST_F_TIMEOUT(vfio_iommu, dma_both_ways, 120)
{
	uint8_t *src = self->mem, *dst = self->mem + self->page_size;

	if (!self->found)
		SKIP(return, NO_EDU);
	OPEN_PATH();
	fill(src, self->page_size, 0x3c);
	memset(dst, 0, self->page_size);
	ASSERT_EQ(0, path_map(self, src, self->page_size, IOVA_A));
	ASSERT_EQ(0, path_map(self, dst, self->page_size, IOVA_B));
	ASSERT_EQ(0, edu_dma_from_ram(&self->edu, IOVA_A, LEN));
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, IOVA_B, LEN));
	EXPECT_EQ(0, memcmp(src, dst, LEN));
	/* Nothing past what was copied. */
	EXPECT_TRUE(all_bytes(dst + LEN, 0, self->page_size - LEN));
	EXPECT_EQ(0, path_unmap(self, IOVA_A, self->page_size));
	EXPECT_EQ(0, path_unmap(self, IOVA_B, self->page_size));
}

/*
 * One mapping of many pages, in IO pages as large as the IOMMU and the
 * memory allow: the edu copies from its last page to its first, and the
 * unmap, which reads the pages back from the IOMMU's page table to unpin
 * them (iommufd keeps no list), gives back every pin and charge.
 */
#define IOVA_BIG	0x4000000ULL	/* 2 MiB aligned, clear of MSI windows */
#define BIG_LEN		(2ul << 20)

TEST_F_TIMEOUT(vfio_iommu, large_mapping, 120)
{
	/* type1 counts its pins in locked_vm, iommufd in pinned_vm. */
	const char *charge = variant->path == PATH_TYPE1 ? "VmLck:" : "VmPin:";
	size_t last = BIG_LEN - self->page_size;
	uint8_t *area, *big;
	long before;

	if (!self->found)
		SKIP(return, NO_EDU);
	OPEN_PATH();
	/* 2 MiB aligned, so that a transparent huge page can back it. */
	area = mmap(NULL, 2 * BIG_LEN, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, area);
	big = (uint8_t *)(((uintptr_t)area + BIG_LEN - 1) & ~(BIG_LEN - 1));
	madvise(big, BIG_LEN, MADV_HUGEPAGE);
	memset(big, 0, BIG_LEN);
	fill(big + last, LEN, 0x5a);
	before = status_kb(charge);

	ASSERT_EQ(0, path_map(self, big, BIG_LEN, IOVA_BIG));
	EXPECT_EQ(before + (long)(BIG_LEN / 1024), status_kb(charge));
	ASSERT_EQ(0, edu_dma_from_ram(&self->edu, IOVA_BIG + last, LEN));
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, IOVA_BIG, LEN));
	EXPECT_EQ(0, memcmp(big, big + last, LEN));
	EXPECT_TRUE(all_bytes(big + LEN, 0, last - LEN));

	EXPECT_EQ(0, path_unmap(self, IOVA_BIG, BIG_LEN));
	EXPECT_EQ(before, status_kb(charge));
	munmap(area, 2 * BIG_LEN);
}

/*
 * VFIO_TYPE1_IOMMU may unmap part of a mapping. The iommufd container
 * keeps large IO pages for it (unlike upstream's iommufd, which gives them
 * up), and maps the rest of one that a cut goes through again in smaller
 * pages: the device still reaches both sides of the cut, and the unmapped
 * page gives back its pin. type1's own VFIO_TYPE1_IOMMU never cuts: an
 * unmap that starts inside a mapping unmaps nothing.
 */
TEST_F_TIMEOUT(vfio_iommu, type1_cut_large_mapping, 120)
{
	const char *charge = variant->path == PATH_TYPE1 ? "VmLck:" : "VmPin:";
	size_t ps = self->page_size, last = BIG_LEN - ps;
	bool cuts = variant->path == PATH_COMPAT;
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = IOVA_BIG + 5 * ps,
		.size = ps,
	};
	long before, pool;
	uint8_t *big;

	if (!self->found)
		SKIP(return, NO_EDU);
	if (variant->path != PATH_COMPAT && variant->path != PATH_TYPE1)
		SKIP(return, "VFIO_TYPE1_IOMMU is a type of container");
	self->container_type = VFIO_TYPE1_IOMMU;
	OPEN_PATH();
	/* A hugetlbfs page: 2 MiB of contiguous memory, whatever THP finds. */
	pool = hugepage_get();
	if (pool < 0)
		SKIP(return, "no 2 MiB hugetlbfs page to be had");
	big = mmap(NULL, BIG_LEN, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1,
		   0);
	ASSERT_NE(MAP_FAILED, big);
	fill(big + last, LEN, 0x6b);
	before = status_kb(charge);

	ASSERT_EQ(0, path_map(self, big, BIG_LEN, IOVA_BIG));
	ASSERT_EQ(0, ioctl(self->container, VFIO_IOMMU_UNMAP_DMA, &unmap));
	EXPECT_EQ(cuts ? ps : 0, unmap.size);
	EXPECT_EQ(before + (long)((BIG_LEN - (cuts ? ps : 0)) / 1024),
		  status_kb(charge));
	/* The last page to the pages on either side of the cut. */
	ASSERT_EQ(0, edu_dma_from_ram(&self->edu, IOVA_BIG + last, LEN));
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, IOVA_BIG + 4 * ps, LEN));
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, IOVA_BIG + 6 * ps, LEN));
	EXPECT_EQ(0, memcmp(big + 4 * ps, big + last, LEN));
	EXPECT_EQ(0, memcmp(big + 6 * ps, big + last, LEN));

	/* Whatever is left, in one unmap. */
	unmap.iova = IOVA_BIG;
	unmap.size = BIG_LEN;
	ASSERT_EQ(0, ioctl(self->container, VFIO_IOMMU_UNMAP_DMA, &unmap));
	EXPECT_EQ(BIG_LEN - (cuts ? ps : 0), unmap.size);
	EXPECT_EQ(before, status_kb(charge));
	munmap(big, BIG_LEN);
	EXPECT_EQ(0, hugepage_put(pool));
}

/*
 * A device that only reads memory sees what the process writes there after
 * the map. A private mapping starts out on pages it shares (a file's page
 * cache, the zero page) and the process's first write moves it to a copy
 * of its own, so the read-only pin must take that copy at map time, or the
 * device goes on reading the old page. Both backends pin through GUP, so
 * type1 shows the same.
 */
TEST_F_TIMEOUT(vfio_iommu, readonly_dma_sees_writes, 120)
{
	uint8_t *dst = self->mem;
	int source;

	if (!self->found)
		SKIP(return, NO_EDU);
	OPEN_PATH();
	ASSERT_EQ(0, path_map(self, dst, self->page_size, IOVA_B));
	for (source = 0; source < 2; source++) {
		uint8_t *buf;
		int fd = -1;

		if (source == 0) {
			/* The page cache of this program's file. */
			fd = open("/proc/self/exe", O_RDONLY);
			ASSERT_LE(0, fd);
		}
		buf = mmap(NULL, self->page_size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | (fd < 0 ? MAP_ANONYMOUS : 0), fd, 0);
		ASSERT_NE(MAP_FAILED, buf);
		if (fd >= 0)
			close(fd);
		/* A read first: the page is the shared one when pinned. */
		ASSERT_EQ(source == 0 ? 0x7f : 0, buf[0]);	/* ELF magic */

		ASSERT_EQ(0, path_map_prot(self, buf, self->page_size, IOVA_A,
					   false));
		fill(buf, self->page_size, 0x5a + source);
		memset(dst, 0, self->page_size);
		ASSERT_EQ(0, edu_dma_from_ram(&self->edu, IOVA_A, LEN));
		ASSERT_EQ(0, edu_dma_to_ram(&self->edu, IOVA_B, LEN));
		EXPECT_EQ(0, memcmp(buf, dst, LEN))
			TH_LOG("the device read the page %s had before the write",
			       source ? "anonymous memory" : "a private file mapping");
		EXPECT_EQ(0, path_unmap(self, IOVA_A, self->page_size));
		munmap(buf, self->page_size);
	}
	EXPECT_EQ(0, path_unmap(self, IOVA_B, self->page_size));
}

/*
 * Once unmapped, the page is out of the device's reach: a write to its
 * IOVA changes nothing and the IOMMU reports the fault, which the window
 * of "harness: expect" lines lets through; it closes only once the report
 * is in the log, for the report comes from the IOMMU's fault interrupt.
 */
TEST_F_TIMEOUT(vfio_iommu, dma_blocked_after_unmap, 120)
{
	uint8_t *src = self->mem, *dst = self->mem + self->page_size;
	char expect[256], line[512];
	int kmsg, rc;

	if (!self->found)
		SKIP(return, NO_EDU);
	OPEN_PATH();
	fill(src, self->page_size, 0x77);
	ASSERT_EQ(0, path_map(self, src, self->page_size, IOVA_A));
	ASSERT_EQ(0, path_map(self, dst, self->page_size, IOVA_B));
	ASSERT_EQ(0, edu_dma_from_ram(&self->edu, IOVA_A, LEN));
	memset(dst, 0, self->page_size);
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, IOVA_B, LEN));
	ASSERT_EQ(0, memcmp(src, dst, LEN));

	ASSERT_EQ(0, path_unmap(self, IOVA_B, self->page_size));
	memset(dst, 0xee, self->page_size);
	if (!self->iommu->fault_re) {
		ASSERT_EQ(0, edu_dma_to_ram(&self->edu, IOVA_B, LEN));
		ASSERT_TRUE(all_bytes(dst, 0xee, self->page_size));
		ASSERT_EQ(0, path_unmap(self, IOVA_A, self->page_size));
		/* (A SKIP hides EXPECT failures: only ASSERTs before it.) */
		/* QEMU 7.2's AMD-Vi logs no event for a zero page table entry. */
		SKIP(return, NO_REPORT, self->iommu_name);
	}
	kmsg = kmsg_open();
	ASSERT_LE(0, kmsg);
	fmt_buf(expect, sizeof(expect), "harness: expect %s",
		self->iommu->fault_re);
	ASSERT_EQ(0, kmsg_write(expect));
	rc = edu_dma_to_ram(&self->edu, IOVA_B, FAULT_LEN);
	if (!rc)
		rc = fault_wait(kmsg, self->iommu, self->bdf, IOVA_B, line,
				sizeof(line));
	fault_drain(kmsg, self->iommu, 500);
	kmsg_write("harness: expect-end");
	close(kmsg);
	EXPECT_EQ(0, rc);
	if (!rc)
		printf("# %s reported: %s\n", self->iommu_name, line);
	EXPECT_TRUE(all_bytes(dst, 0xee, self->page_size));
	EXPECT_EQ(0, path_unmap(self, IOVA_A, self->page_size));
}

/*
 * The edu raises its interrupt as an MSI (VFIO enables MSI for it), which
 * travels through the IOMMU: interrupt remapping on VT-d and AMD-Vi, the
 * SMMU's translation of the ITS doorbell (the MSI cookie) on arm64. VFIO
 * signals it on an eventfd.
 */
TEST_F_TIMEOUT(vfio_iommu, msi, 120)
{
	struct vfio_irq_info irq = {
		.argsz = sizeof(irq),
		.index = VFIO_PCI_MSI_IRQ_INDEX,
	};
	char buf[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
	struct vfio_irq_set *set = (void *)buf;
	struct pollfd pfd = { .events = POLLIN };
	uint64_t count = 0;
	int efd;

	if (!self->found)
		SKIP(return, NO_EDU);
	OPEN_PATH();
	ASSERT_EQ(0, ioctl(self->devfd, VFIO_DEVICE_GET_IRQ_INFO, &irq));
	ASSERT_LE(1, irq.count);
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_LE(0, efd);
	set->argsz = sizeof(buf);
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = VFIO_PCI_MSI_IRQ_INDEX;
	set->start = 0;
	set->count = 1;
	memcpy(set->data, &efd, sizeof(int32_t));
	ASSERT_EQ(0, ioctl(self->devfd, VFIO_DEVICE_SET_IRQS, set));

	edu_write32(&self->edu, EDU_REG_IRQ_RAISE, EDU_IRQ_TEST);
	pfd.fd = efd;
	EXPECT_EQ(1, poll(&pfd, 1, MSI_TIMEOUT_MS));
	EXPECT_EQ((ssize_t)sizeof(count), read(efd, &count, sizeof(count)));
	EXPECT_LE(1, count);
	EXPECT_EQ(EDU_IRQ_TEST,
		  edu_read32(&self->edu, EDU_REG_IRQ_STATUS) & EDU_IRQ_TEST);
	edu_write32(&self->edu, EDU_REG_IRQ_ACK, EDU_IRQ_TEST);
	EXPECT_EQ(0, edu_read32(&self->edu, EDU_REG_IRQ_STATUS));

	/* Disabled, MSI is off and no eventfd is signalled any more. */
	set->argsz = sizeof(*set);
	set->flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->count = 0;
	ASSERT_EQ(0, ioctl(self->devfd, VFIO_DEVICE_SET_IRQS, set));
	edu_write32(&self->edu, EDU_REG_IRQ_RAISE, EDU_IRQ_TEST);
	EXPECT_EQ(0, poll(&pfd, 1, 200));
	edu_write32(&self->edu, EDU_REG_IRQ_ACK, EDU_IRQ_TEST);
	close(efd);
}

/*
 * The ranges a container reports for the device, opened and closed here:
 * type1's (@iommufd false) or those of one served by iommufd. *@cc: its
 * answer to VFIO_CHECK_EXTENSION(VFIO_DMA_CC_IOMMU).
 */
static int reference(const char *bdf, bool iommufd, struct range *r, int *cc)
{
	int container, groupfd, devfd, n;

	container = vfio_container_open(iommufd);
	if (container < 0)
		return container;
	groupfd = vfio_group_open(bdf);
	if (groupfd < 0) {
		close(container);
		return groupfd;
	}
	if (ioctl(groupfd, VFIO_GROUP_SET_CONTAINER, &container) ||
	    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) {
		n = -errno;
	} else {
		/* Opened as a user would: attached for as long. */
		devfd = ioctl(groupfd, VFIO_GROUP_GET_DEVICE_FD, bdf);
		n = container_ranges(container, r, MAX_RANGES);
		*cc = ioctl(container, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU);
		if (devfd >= 0)
			close(devfd);
	}
	close(groupfd);
	close(container);
	return n;
}

static bool same_ranges(const struct range *a, int na, const struct range *b,
			int nb)
{
	return na == nb && na > 0 && na <= MAX_RANGES &&
	       !memcmp(a, b, na * sizeof(*a));
}

/*
 * After attach, the IOVA ranges are what the IOMMU can translate for this
 * device: the same as type1 and the iommufd-served container report, and
 * ending at the IOMMU's aperture (IOMMU_IOVA_LAST, which the machine knows).
 * iommufd's page table has that aperture too.
 */
TEST_F_TIMEOUT(vfio_iommu, iova_ranges, 120)
{
	struct range own[MAX_RANGES], type1[MAX_RANGES], compat[MAX_RANGES];
	int n_own, n_type1, n_compat, cc;
	const char *want_last = getenv("IOMMU_IOVA_LAST");
	struct hwpt_view view;
	int view_rc = -ENOENT;

	if (!self->found)
		SKIP(return, NO_EDU);
	OPEN_PATH();
	n_own = path_ranges(self, own);
	if (self->iommufd >= 0 || variant->path == PATH_COMPAT)
		view_rc = hwpt_view(self->ioas, &view);
	path_close(self);
	print_ranges("this path's", own, n_own);
	n_type1 = reference(self->bdf, false, type1, &cc);
	print_ranges("type1's", type1, n_type1);
	n_compat = reference(self->bdf, true, compat, &cc);
	print_ranges("the iommufd container's", compat, n_compat);

	ASSERT_LT(0, n_own);
	ASSERT_GE(MAX_RANGES, n_own);
	EXPECT_TRUE(same_ranges(own, n_own, type1, n_type1));
	EXPECT_TRUE(same_ranges(own, n_own, compat, n_compat));
	/* Below the aperture nothing is lost but reserved windows. */
	EXPECT_EQ(0, own[0].start);
	if (!want_last)
		printf("# no IOMMU_IOVA_LAST to check the aperture against\n");
	EXPECT_EQ(want_last ? strtoull(want_last, NULL, 0) : own[n_own - 1].last,
		  own[n_own - 1].last);

	if (variant->path == PATH_TYPE1)
		return;	/* type1 has no such view */
	ASSERT_EQ(0, view_rc);
	EXPECT_EQ(own[0].start, view.aperture_start);
	EXPECT_EQ(own[n_own - 1].last, view.aperture_last);
}

/*
 * Cache coherency: where the IOMMU can enforce snooping for the device
 * (VT-d with snoop control), its domain does; as type1 decides it for the
 * same device. Containers answer VFIO_CHECK_EXTENSION(VFIO_DMA_CC_IOMMU),
 * iommufd's debugfs view of the page table says coherent=yes|no, and KVM's
 * VFIO device, given the device's or the group's file, counts it so.
 */
TEST_F_TIMEOUT(vfio_iommu, coherency, 120)
{
	struct range r[MAX_RANGES];
	int type1_cc = -1, own_cc = -1, compat_cc = -1, snoop;
	struct hwpt_view view;
	long noncoherent;

	if (!self->found)
		SKIP(return, NO_EDU);
	ASSERT_LT(0, reference(self->bdf, false, r, &type1_cc));
	ASSERT_LT(0, reference(self->bdf, true, r, &compat_cc));
	printf("# VFIO_DMA_CC_IOMMU: type1 %d, iommufd's container %d\n",
	       type1_cc, compat_cc);
	/* Only VT-d tells; with snoop control it enforces coherency. */
	if (self->iommu->kind == IOMMU_VTD) {
		snoop = vtd_snoop_control(self->iommu_name);
		ASSERT_LE(0, snoop);
		EXPECT_EQ(snoop, type1_cc);
	}
	EXPECT_EQ(type1_cc, compat_cc);

	if (!self->found)
		SKIP(return, NO_EDU);
	OPEN_PATH();
	if (self->container >= 0) {
		own_cc = ioctl(self->container, VFIO_CHECK_EXTENSION,
			       VFIO_DMA_CC_IOMMU);
		EXPECT_EQ(type1_cc, own_cc);
	}
	/* KVM's VFIO device takes the answer from VFIO, for this file. */
	noncoherent = kvm_file_noncoherent(variant->path == PATH_CDEV ?
					   self->devfd : self->groupfd);
	if (noncoherent < 0)
		printf("# no KVM here to ask\n");
	else
		EXPECT_EQ(!type1_cc, noncoherent);
	if (variant->path == PATH_TYPE1)
		return;
	ASSERT_EQ(0, hwpt_view(self->ioas, &view));
	EXPECT_EQ(type1_cc, view.coherent);
}

/*
 * A device whose MSIs go through a software-managed window (SMMUv3 and its
 * ITS doorbell) needs its domain to have an MSI cookie there, as type1
 * gives it: iommufd's debugfs view says msi_cookie=yes for exactly those.
 * (The msi test proves that the MSIs arrive.)
 */
TEST_F_TIMEOUT(vfio_iommu, msi_cookie, 120)
{
	struct hwpt_view view;
	int sw_msi;

	if (variant->path == PATH_TYPE1)
		SKIP(return, "type1 shows none of its domains; the msi test proves delivery");
	if (!self->found)
		SKIP(return, NO_EDU);
	OPEN_PATH();
	sw_msi = needs_msi_cookie(self->bdf);
	ASSERT_LE(0, sw_msi);
	printf("# the device's MSIs go through %s\n",
	       sw_msi ? "a software-managed window" : "no IOMMU mapping");
	ASSERT_EQ(0, hwpt_view(self->ioas, &view));
	EXPECT_EQ(sw_msi, view.msi_cookie);
}

/*
 * Page tables by ID, on the cdev alone (the group and container paths know
 * only their IOAS): the edu attached to an IOAS, a page table made on
 * request for it while attached, then a replace to that page table.
 * IOMMU_HWPT_ALLOC fills the page table at once: unfinished on VT-d and
 * AMD-Vi, whose domains can be filled before their first attach; after the
 * edu's group visited it on SMMUv3 and virtio-iommu, which finish a domain
 * only at an attach. DMA works before, between and after, and the IOVA
 * ranges stay those of the IOMMU.
 */
FIXTURE(vfio_iommu_pt)
{
	char bdf[NAME_LEN];
	char iommu_name[NAME_LEN];
	const struct iommu_desc *iommu;
	bool found;
	bool claimed;
	int iommufd;
	int devfd;
	struct edu edu;
	uint8_t *mem;
	size_t page_size;
};

FIXTURE_SETUP(vfio_iommu_pt)
{
	self->devfd = -1;
	self->iommufd = -1;
	self->page_size = sysconf(_SC_PAGESIZE);
	if (edu_find_alone(self->bdf))
		SKIP(return, NO_EDU);
	self->iommu = iommu_of(self->bdf, self->iommu_name,
			       sizeof(self->iommu_name));
	if (!self->iommu)
		SKIP(return, "the edu's IOMMU (%s) is not VT-d, AMD-Vi, virtio-iommu or SMMUv3",
		     self->iommu_name);
	if (!self->iommu->isolates_msi)
		ASSERT_EQ(0, set_unsafe_interrupts(true));
	self->mem = mmap(NULL, PAGES * self->page_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	ASSERT_EQ(0, vfio_pci_claim(self->bdf, &self->claimed));
	self->found = true;
}

FIXTURE_TEARDOWN(vfio_iommu_pt)
{
	edu_close(&self->edu);
	if (self->devfd >= 0)
		close(self->devfd);
	if (self->iommufd >= 0)
		close(self->iommufd);
	if (self->mem && self->mem != MAP_FAILED)
		munmap(self->mem, PAGES * self->page_size);
	if (self->found)
		EXPECT_EQ(0, vfio_pci_release(self->bdf, self->claimed));
}

/* A copy from IOVA_A to IOVA_B by the edu: whether it arrived. */
static bool copied(struct edu *edu, uint8_t *src, uint8_t *dst,
		   uint8_t seed)
{
	fill(src, LEN, seed);
	memset(dst, 0, LEN);
	return !edu_dma_from_ram(edu, IOVA_A, LEN) &&
	       !edu_dma_to_ram(edu, IOVA_B, LEN) && !memcmp(src, dst, LEN);
}

TEST_F_TIMEOUT(vfio_iommu_pt, hwpt_alloc_replace, 120)
{
	uint8_t *src = self->mem, *dst = self->mem + self->page_size;
	const char *want_last = getenv("IOMMU_IOVA_LAST");
	uint32_t devid, ioas, auto_hwpt, hwpt, pt;
	struct range r[MAX_RANGES];
	int n;

	if (!self->found)
		SKIP(return, NO_EDU);
	self->iommufd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->iommufd);
	self->devfd = vfio_cdev_open(self->bdf);
	ASSERT_LE(0, self->devfd);
	ASSERT_EQ(0, vfio_bind(self->devfd, self->iommufd, &devid));
	ASSERT_EQ(0, ioas_alloc(self->iommufd, &ioas));
	ASSERT_EQ(0, ioas_map(self->iommufd, ioas, src, self->page_size,
			      IOVA_A));
	ASSERT_EQ(0, ioas_map(self->iommufd, ioas, dst, self->page_size,
			      IOVA_B));
	pt = ioas;
	ASSERT_EQ(0, vfio_attach(self->devfd, &pt));
	auto_hwpt = pt;
	ASSERT_EQ(0, edu_open(&self->edu, self->devfd));
	EXPECT_TRUE(copied(&self->edu, src, dst, 0x51));

	ASSERT_EQ(0, hwpt_alloc(self->iommufd, devid, ioas, &hwpt));
	EXPECT_NE(auto_hwpt, hwpt);
	EXPECT_EQ(auto_hwpt, device_page_table(devid));
	EXPECT_TRUE(copied(&self->edu, src, dst, 0x52));

	pt = hwpt;
	ASSERT_EQ(0, vfio_attach(self->devfd, &pt));
	EXPECT_EQ(hwpt, pt);
	EXPECT_EQ(hwpt, device_page_table(devid));
	EXPECT_TRUE(copied(&self->edu, src, dst, 0x53));

	n = ioas_ranges(self->iommufd, ioas, r, MAX_RANGES);
	ASSERT_LT(0, n);
	if (!want_last)
		printf("# no IOMMU_IOVA_LAST to check the aperture against\n");
	EXPECT_EQ(want_last ? strtoull(want_last, NULL, 0) : r[n - 1].last,
		  r[n - 1].last);

	EXPECT_EQ(0, vfio_detach(self->devfd));
	EXPECT_EQ(0, iommufd_destroy(self->iommufd, hwpt));
}

TEST_HARNESS_MAIN
