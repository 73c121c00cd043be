/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers to drive QEMU's "edu" PCI device through its VFIO device cdev and
 * iommufd: PCI sysfs and driver binding, the VFIO and iommufd ioctls, the
 * edu's DMA engine and the kernel log. Shared by the vfio_edu selftest and
 * the harness demo, so nothing here uses the kselftest harness.
 *
 * Helpers return 0 or a negative errno; the ioctl wrappers return what
 * ioctl() returned and leave errno set, as the tests check errno.
 */
#ifndef __VFIO_EDU_UTIL_H
#define __VFIO_EDU_UTIL_H

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/kvm.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "iommufd_test_util.h"

#define EDU_VENDOR		0x1234
#define EDU_DEVICE		0x11e8
#define VIRTIO_VENDOR		0x1af4

/* BAR0 registers */
#define EDU_REG_ID		0x00	/* 0xMMmm00ed: version, then 0xed */
#define EDU_REG_LIVE		0x04	/* reads back the complement of a write */
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_COUNT	0x90
#define EDU_REG_DMA_CMD		0x98
#define EDU_DMA_RUN		0x1	/* write: start; read: still running */
#define EDU_DMA_TO_RAM		0x2	/* edu buffer to RAM; clear: RAM to edu */

/* The edu's internal DMA buffer, at this address on the device side. */
#define EDU_BUF			0x40000
#define EDU_BUF_SIZE		4096
/* The edu drops RAM-side address bits from bit 28 up. */
#define EDU_IOVA_LIMIT		0x10000000ULL
#define EDU_DMA_TIMEOUT_MS	5000

#define PCI_DEVICES		"/sys/bus/pci/devices"
#define NAME_LEN		32

static inline long ms_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 +
	       (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* snprintf() that fails with -ENAMETOOLONG rather than truncate. */
static inline int fmt_buf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return len >= 0 && (size_t)len < size ? 0 : -ENAMETOOLONG;
}

/* Read a small file such as a sysfs attribute, without its newline. */
static inline int read_str(const char *path, char *buf, size_t size)
{
	ssize_t len;
	int fd, rc = 0;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	len = read(fd, buf, size - 1);
	if (len < 0) {
		rc = -errno;
		len = 0;
	}
	buf[len] = 0;
	buf[strcspn(buf, "\n")] = 0;
	close(fd);
	return rc;
}

static inline int pci_path(char *path, size_t size, const char *bdf,
			   const char *attr)
{
	return fmt_buf(path, size, PCI_DEVICES "/%s/%s", bdf, attr);
}

/* A hexadecimal attribute such as "vendor", or a negative errno. */
static inline long pci_hex(const char *bdf, const char *attr)
{
	char path[PATH_MAX], val[NAME_LEN];
	int rc;

	rc = pci_path(path, sizeof(path), bdf, attr);
	if (!rc)
		rc = read_str(path, val, sizeof(val));
	return rc ? rc : strtol(val, NULL, 16);
}

/* The name of the last path component of symlink @path. */
static inline int link_name(const char *path, char *name, size_t size)
{
	char target[PATH_MAX];
	const char *base;
	ssize_t len;

	len = readlink(path, target, sizeof(target) - 1);
	if (len < 0)
		return -errno;
	target[len] = 0;
	base = strrchr(target, '/');
	return fmt_buf(name, size, "%s", base ? base + 1 : target);
}

/* The driver bound to @bdf, "" for none. */
static inline int pci_driver(const char *bdf, char *name, size_t size)
{
	char path[PATH_MAX];
	int rc;

	rc = pci_path(path, sizeof(path), bdf, "driver");
	if (!rc)
		rc = link_name(path, name, size);
	if (rc == -ENOENT) {
		name[0] = 0;
		rc = 0;
	}
	return rc;
}

static inline bool pci_driver_is(const char *bdf, const char *driver)
{
	char name[NAME_LEN];

	return !pci_driver(bdf, name, sizeof(name)) && !strcmp(name, driver);
}

/* The number of the IOMMU group of @bdf, or a negative errno. */
static inline int pci_group(const char *bdf)
{
	char path[PATH_MAX], name[NAME_LEN];
	int rc;

	rc = pci_path(path, sizeof(path), bdf, "iommu_group");
	if (!rc)
		rc = link_name(path, name, sizeof(name));
	return rc ? rc : atoi(name);
}

/*
 * The names in directory @dir, sorted, at most @max of them, in @names;
 * returns how many there are (maybe more than @max) or a negative errno.
 */
static inline int dir_names(const char *dir, char (*names)[NAME_LEN], int max)
{
	struct dirent **list;
	int n, i, count = 0;

	n = scandir(dir, &list, NULL, versionsort);
	if (n < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		/* Longer names are none of the ones we look for. */
		if (list[i]->d_name[0] != '.' &&
		    (count >= max ||
		     !fmt_buf(names[count], NAME_LEN, "%s", list[i]->d_name)))
			count++;
		free(list[i]);
	}
	free(list);
	return count;
}

/* The PCI devices in IOMMU group @group, as dir_names(). */
static inline int group_devices(int group, char (*bdfs)[NAME_LEN], int max)
{
	char dir[PATH_MAX];

	fmt_buf(dir, sizeof(dir), "/sys/kernel/iommu_groups/%d/devices", group);
	return dir_names(dir, bdfs, max);
}

/*
 * The PCI devices of the machine with IDs @vendor:@device, in bus order:
 * how many, up to @max.
 */
static inline int pci_find(long vendor, long device, char (*bdfs)[NAME_LEN],
			   int max)
{
	char all[256][NAME_LEN];
	int n, i, count = 0;

	n = dir_names(PCI_DEVICES, all, 256);
	if (n < 0)
		return n;
	for (i = 0; i < n && i < 256 && count < max; i++) {
		if (pci_hex(all[i], "vendor") == vendor &&
		    pci_hex(all[i], "device") == device)
			memcpy(bdfs[count++], all[i], NAME_LEN);
	}
	return count;
}

/* The edu devices of the machine, in bus order: how many, up to @max. */
static inline int edu_find(char (*bdfs)[NAME_LEN], int max)
{
	return pci_find(EDU_VENDOR, EDU_DEVICE, bdfs, max);
}

/* The edu that is alone in its IOMMU group, in @bdf. */
static inline int edu_find_standalone(char *bdf)
{
	char edus[8][NAME_LEN];
	int n, i, group;

	n = edu_find(edus, 8);
	for (i = 0; i < n; i++) {
		group = pci_group(edus[i]);
		if (group >= 0 && group_devices(group, NULL, 0) == 1) {
			memcpy(bdf, edus[i], NAME_LEN);
			return 0;
		}
	}
	return -ENODEV;
}

static inline int pci_unbind(const char *bdf)
{
	char path[PATH_MAX];
	int rc;

	rc = pci_path(path, sizeof(path), bdf, "driver/unbind");
	return rc ? rc : write_file(path, bdf);
}

static inline int pci_bind(const char *bdf, const char *driver)
{
	char path[PATH_MAX];
	int rc;

	rc = fmt_buf(path, sizeof(path), "/sys/bus/pci/drivers/%s/bind", driver);
	return rc ? rc : write_file(path, bdf);
}

/*
 * Give @bdf, which no driver has, to vfio-pci. *@claimed says whether we
 * did, so vfio_pci_release() leaves alone a device vfio-pci already had.
 */
static inline int vfio_pci_claim(const char *bdf, bool *claimed)
{
	char path[PATH_MAX], driver[NAME_LEN];
	int rc;

	*claimed = false;
	rc = pci_driver(bdf, driver, sizeof(driver));
	if (rc)
		return rc;
	if (!strcmp(driver, "vfio-pci"))
		return 0;
	if (driver[0])
		return -EBUSY;	/* a kernel driver's device is not ours */

	/* vfio-pci has no ID table: only driver_override matches it. */
	rc = pci_path(path, sizeof(path), bdf, "driver_override");
	if (!rc)
		rc = write_file(path, "vfio-pci");
	if (rc)
		return rc;
	rc = write_file("/sys/bus/pci/drivers_probe", bdf);
	if (!rc && !pci_driver_is(bdf, "vfio-pci"))
		rc = -ENODEV;
	if (rc) {
		write_file(path, "\n");
		return rc;
	}
	*claimed = true;
	return 0;
}

/* Undo vfio_pci_claim(): the device ends with no driver and no override. */
static inline int vfio_pci_release(const char *bdf, bool claimed)
{
	char path[PATH_MAX];
	int rc = 0;

	if (!claimed)
		return 0;
	if (pci_driver_is(bdf, "vfio-pci"))
		rc = pci_unbind(bdf);
	if (pci_path(path, sizeof(path), bdf, "driver_override") ||
	    write_file(path, "\n"))
		rc = rc ? rc : -EIO;
	return rc;
}

/*
 * The name ("vfioN") of the VFIO device cdev of the device whose sysfs
 * directory is @devdir.
 */
static inline int vfio_cdev_name_of(const char *devdir, char *name,
				    size_t size)
{
	char dir[PATH_MAX], names[2][NAME_LEN];
	int n;

	n = fmt_buf(dir, sizeof(dir), "%s/vfio-dev", devdir);
	if (!n)
		n = dir_names(dir, names, 2);
	if (n < 0)
		return n;
	if (n != 1)
		return -ENOENT;
	return fmt_buf(name, size, "%s", names[0]);
}

/* Open the VFIO device cdev of the device at @devdir: an fd or -errno. */
static inline int vfio_cdev_open_of(const char *devdir)
{
	char name[NAME_LEN], path[PATH_MAX];
	int rc, fd;

	rc = vfio_cdev_name_of(devdir, name, sizeof(name));
	if (!rc)
		rc = fmt_buf(path, sizeof(path), "/dev/vfio/devices/%s", name);
	if (rc)
		return rc;
	fd = open(path, O_RDWR);
	return fd < 0 ? -errno : fd;
}

/* The name ("vfioN") of the VFIO device cdev of PCI device @bdf. */
static inline int vfio_cdev_name(const char *bdf, char *name, size_t size)
{
	char dir[PATH_MAX];
	int rc;

	rc = fmt_buf(dir, sizeof(dir), PCI_DEVICES "/%s", bdf);
	return rc ? rc : vfio_cdev_name_of(dir, name, size);
}

/* Open /dev/vfio/devices/vfioN of @bdf: a file descriptor or -errno. */
static inline int vfio_cdev_open(const char *bdf)
{
	char dir[PATH_MAX];
	int rc;

	rc = fmt_buf(dir, sizeof(dir), PCI_DEVICES "/%s", bdf);
	return rc ? rc : vfio_cdev_open_of(dir);
}

#define MDEV_DEVICES	"/sys/bus/mdev/devices"

/*
 * Create an mdev of the type whose "create" file is @create: 0 and its
 * UUID in @uuid, or -errno.
 */
static inline int mdev_create(const char *create, char *uuid, size_t size)
{
	int rc;

	rc = read_str("/proc/sys/kernel/random/uuid", uuid, size);
	return rc ? rc : write_file(create, uuid);
}

static inline int mdev_remove(const char *uuid)
{
	char path[PATH_MAX];
	int rc;

	rc = fmt_buf(path, sizeof(path), MDEV_DEVICES "/%s/remove", uuid);
	return rc ? rc : write_file(path, "1");
}

/* Open an mdev's group file, /dev/vfio/<group>: an fd or -errno. */
static inline int mdev_group_open(const char *uuid)
{
	char path[PATH_MAX], group[NAME_LEN];
	int rc, fd;

	rc = fmt_buf(path, sizeof(path), MDEV_DEVICES "/%s/iommu_group", uuid);
	if (!rc)
		rc = link_name(path, group, sizeof(group));
	if (!rc)
		rc = fmt_buf(path, sizeof(path), "/dev/vfio/%s", group);
	if (rc)
		return rc;
	fd = open(path, O_RDWR);
	return fd < 0 ? -errno : fd;
}

/* Open the VFIO group file /dev/vfio/<group> of @bdf, as vfio_cdev_open(). */
static inline int vfio_group_open(const char *bdf)
{
	char path[PATH_MAX];
	int group, fd;

	group = pci_group(bdf);
	if (group < 0)
		return group;
	fmt_buf(path, sizeof(path), "/dev/vfio/%d", group);
	fd = open(path, O_RDWR);
	return fd < 0 ? -errno : fd;
}

static inline int vfio_bind(int devfd, int iommufd, uint32_t *devid)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind),
		.iommufd = iommufd,
	};
	int rc;

	rc = ioctl(devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind);
	if (!rc && devid)
		*devid = bind.out_devid;
	return rc;
}

/* Attach to (or replace with) IOAS or page table *@pt_id; the page table. */
static inline int vfio_attach(int devfd, uint32_t *pt_id)
{
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach),
		.pt_id = *pt_id,
	};
	int rc;

	rc = ioctl(devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach);
	if (!rc)
		*pt_id = attach.pt_id;
	return rc;
}

static inline int vfio_detach(int devfd)
{
	struct vfio_device_detach_iommufd_pt detach = {
		.argsz = sizeof(detach),
	};

	return ioctl(devfd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach);
}

static inline int vfio_region(int devfd, uint32_t index,
			      struct vfio_region_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->index = index;
	return ioctl(devfd, VFIO_DEVICE_GET_REGION_INFO, info);
}

static inline int ioas_alloc(int fd, uint32_t *ioas)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	int rc;

	rc = ioctl(fd, IOMMU_IOAS_ALLOC, &cmd);
	if (!rc)
		*ioas = cmd.out_ioas_id;
	return rc;
}

/*
 * Map @len bytes at @buf at exactly @iova, for device reads, and for device
 * writes too if @device_writes.
 */
static inline int ioas_map_prot(int fd, uint32_t ioas, void *buf, size_t len,
				uint64_t iova, bool device_writes)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 (device_writes ? IOMMU_IOAS_MAP_WRITEABLE : 0),
		.ioas_id = ioas,
		.user_va = (uintptr_t)buf,
		.length = len,
		.iova = iova,
	};

	return ioctl(fd, IOMMU_IOAS_MAP, &cmd);
}

/* Map @len bytes at @buf for device reads and writes at exactly @iova. */
static inline int ioas_map(int fd, uint32_t ioas, void *buf, size_t len,
			   uint64_t iova)
{
	return ioas_map_prot(fd, ioas, buf, len, iova, true);
}

/* Unmap [@iova, @iova + @len); *@unmapped: how much was mapped there. */
static inline int ioas_unmap(int fd, uint32_t ioas, uint64_t iova,
			     uint64_t len, uint64_t *unmapped)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas,
		.iova = iova,
		.length = len,
	};
	int rc;

	rc = ioctl(fd, IOMMU_IOAS_UNMAP, &cmd);
	if (!rc && unmapped)
		*unmapped = cmd.length;
	return rc;
}

/* A page table of IOAS @ioas for device @devid, made on request. */
static inline int hwpt_alloc(int fd, uint32_t devid, uint32_t ioas,
			     uint32_t *hwpt)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.dev_id = devid,
		.pt_id = ioas,
	};
	int rc;

	rc = ioctl(fd, IOMMU_HWPT_ALLOC, &cmd);
	if (!rc)
		*hwpt = cmd.out_hwpt_id;
	return rc;
}

static inline int iommufd_destroy(int fd, uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return ioctl(fd, IOMMU_DESTROY, &cmd);
}

static inline int group_status(int groupfd, uint32_t *flags)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	int rc;

	rc = ioctl(groupfd, VFIO_GROUP_GET_STATUS, &status);
	*flags = status.flags;
	return rc;
}

/* The compatibility IOAS of an iommufd (IOMMU_VFIO_IOAS_GET). */
static inline int compat_ioas(int iommufd, uint32_t *ioas)
{
	struct iommu_vfio_ioas cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_VFIO_IOAS_GET,
	};
	int rc;

	rc = ioctl(iommufd, IOMMU_VFIO_IOAS, &cmd);
	*ioas = cmd.ioas_id;
	return rc;
}

/*
 * How many of the VFIO files added to VM @vmfd's KVM VFIO device KVM counts
 * as DMA that may bypass the CPU caches (x86 debugfs "noncoherent_dma" of
 * the VM), or -1 if KVM does not show it.
 */
static inline long kvm_noncoherent_dma(int vmfd)
{
	char path[PATH_MAX], val[NAME_LEN];

	if (fmt_buf(path, sizeof(path),
		    "/sys/kernel/debug/kvm/%d-%d/noncoherent_dma", getpid(),
		    vmfd) ||
	    read_str(path, val, sizeof(val)))
		return -1;
	return strtol(val, NULL, 10);
}

/*
 * Whether KVM counts the DMA of VFIO file @fd (a device cdev or a group)
 * as possibly bypassing the CPU caches, once added to a new VM's KVM VFIO
 * device: 1 or 0, or -1 without KVM or its count in debugfs.
 */
static inline long kvm_file_noncoherent(int fd)
{
	struct kvm_create_device create = { .type = KVM_DEV_TYPE_VFIO };
	struct kvm_device_attr attr = {
		.group = KVM_DEV_VFIO_FILE,
		.attr = KVM_DEV_VFIO_FILE_ADD,
		.addr = (uintptr_t)&fd,
	};
	int kvm, vm = -1;
	long count = -1;

	kvm = open("/dev/kvm", O_RDWR);
	if (kvm < 0)
		return -1;
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0 || ioctl(vm, KVM_CREATE_DEVICE, &create))
		goto out;
	if (!ioctl(create.fd, KVM_SET_DEVICE_ATTR, &attr)) {
		count = kvm_noncoherent_dma(vm);
		attr.attr = KVM_DEV_VFIO_FILE_DEL;
		ioctl(create.fd, KVM_SET_DEVICE_ATTR, &attr);
	}
	close(create.fd);
out:
	if (vm >= 0)
		close(vm);
	close(kvm);
	return count;
}

/* An edu opened through VFIO: its device file and BAR0. */
struct edu {
	int devfd;
	void *bar;		/* BAR0 mapped, or NULL to use pread/pwrite */
	size_t bar_size;
	uint64_t bar_offset;	/* of BAR0 in the device file */
};

/*
 * Register accesses. The __atomic builtins make each one exactly one load
 * or store of its size, which the compiler neither merges nor drops.
 */
static inline uint32_t edu_read32(struct edu *edu, unsigned int reg)
{
	uint32_t val;

	if (edu->bar)
		return __atomic_load_n((uint32_t *)((char *)edu->bar + reg),
				       __ATOMIC_SEQ_CST);
	if (pread(edu->devfd, &val, sizeof(val),
		  edu->bar_offset + reg) != sizeof(val))
		return UINT32_MAX;
	return le32toh(val);
}

static inline void edu_write32(struct edu *edu, unsigned int reg,
			       uint32_t val)
{
	if (edu->bar) {
		__atomic_store_n((uint32_t *)((char *)edu->bar + reg), val,
				 __ATOMIC_SEQ_CST);
		return;
	}
	val = htole32(val);
	if (pwrite(edu->devfd, &val, sizeof(val), edu->bar_offset + reg) < 0)
		perror("edu register write");
}

/*
 * vfio-pci splits an 8-byte pwrite() into two 4-byte writes and the edu
 * ignores the upper one, which is fine for the addresses below
 * EDU_IOVA_LIMIT that the edu can reach anyway.
 */
static inline void edu_write64(struct edu *edu, unsigned int reg,
			       uint64_t val)
{
	if (edu->bar) {
		__atomic_store_n((uint64_t *)((char *)edu->bar + reg), val,
				 __ATOMIC_SEQ_CST);
		return;
	}
	val = htole64(val);
	if (pwrite(edu->devfd, &val, sizeof(val), edu->bar_offset + reg) < 0)
		perror("edu register write");
}

/*
 * Make the bound device @devfd usable: memory decoding on for BAR0 (an
 * mmap of a disabled BAR faults), bus mastering on for DMA, BAR0 mapped.
 */
static inline int edu_open(struct edu *edu, int devfd)
{
	struct vfio_region_info cfg, bar;
	uint16_t cmd;
	void *map;

	memset(edu, 0, sizeof(*edu));
	edu->devfd = devfd;
	if (vfio_region(devfd, VFIO_PCI_CONFIG_REGION_INDEX, &cfg))
		return -errno;
	if (pread(devfd, &cmd, sizeof(cmd),
		  cfg.offset + PCI_COMMAND) != sizeof(cmd))
		return -EIO;
	cmd = htole16(le16toh(cmd) | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	if (pwrite(devfd, &cmd, sizeof(cmd),
		   cfg.offset + PCI_COMMAND) != sizeof(cmd))
		return -EIO;

	if (vfio_region(devfd, VFIO_PCI_BAR0_REGION_INDEX, &bar))
		return -errno;
	if (bar.size < EDU_REG_DMA_CMD + 8)
		return -ENODEV;
	edu->bar_size = bar.size;
	edu->bar_offset = bar.offset;
	if (bar.flags & VFIO_REGION_INFO_FLAG_MMAP) {
		map = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED,
			   devfd, bar.offset);
		if (map == MAP_FAILED)
			return -errno;
		edu->bar = map;
	}
	return 0;
}

/*
 * Unmap BAR0. Do it before closing the device file: the mapping holds the
 * file open, so the close alone would not unbind the device.
 */
static inline void edu_close(struct edu *edu)
{
	if (edu->bar)
		munmap(edu->bar, edu->bar_size);
	edu->bar = NULL;
}

/* The identification register reads 0x..ed and liveness inverts. */
static inline bool edu_alive(struct edu *edu)
{
	if ((edu_read32(edu, EDU_REG_ID) & 0xff) != 0xed)
		return false;
	edu_write32(edu, EDU_REG_LIVE, 0x12345678);
	return edu_read32(edu, EDU_REG_LIVE) == ~0x12345678u;
}

/*
 * Run one DMA between IOVA @iova and the start of the edu's buffer and wait
 * until the edu is done; it is done with a DMA the IOMMU blocked, too.
 * Returns 0, -EINVAL for a bad @count, -EBUSY if a DMA was still running,
 * or -ETIMEDOUT.
 */
static inline int edu_dma(struct edu *edu, uint64_t iova, uint32_t count,
			  bool to_ram)
{
	struct timespec start;

	/* QEMU aborts on a transfer that reaches the end of the buffer. */
	if (!count || count >= EDU_BUF_SIZE)
		return -EINVAL;
	if (edu_read32(edu, EDU_REG_DMA_CMD) & EDU_DMA_RUN)
		return -EBUSY;
	edu_write64(edu, EDU_REG_DMA_SRC, to_ram ? EDU_BUF : iova);
	edu_write64(edu, EDU_REG_DMA_DST, to_ram ? iova : EDU_BUF);
	edu_write64(edu, EDU_REG_DMA_COUNT, count);
	edu_write32(edu, EDU_REG_DMA_CMD,
		    EDU_DMA_RUN | (to_ram ? EDU_DMA_TO_RAM : 0));

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (edu_read32(edu, EDU_REG_DMA_CMD) & EDU_DMA_RUN) {
		if (ms_since(&start) > EDU_DMA_TIMEOUT_MS)
			return -ETIMEDOUT;
		usleep(1000);
	}
	/* What the device wrote is read only after it said it is done. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return 0;
}

/* RAM at @iova to the edu's buffer. */
static inline int edu_dma_from_ram(struct edu *edu, uint64_t iova,
				   uint32_t count)
{
	return edu_dma(edu, iova, count, false);
}

/* The edu's buffer to RAM at @iova. */
static inline int edu_dma_to_ram(struct edu *edu, uint64_t iova,
				 uint32_t count)
{
	return edu_dma(edu, iova, count, true);
}

/*
 * Write one record to the kernel log (and so to the console). Each open
 * has its own rate limit, so a fresh open is never rate limited away.
 */
static inline int kmsg_write(const char *msg)
{
	return write_file("/dev/kmsg", msg);
}

/* Open the kernel log to read the records logged from now on. */
static inline int kmsg_open(void)
{
	int fd, rc;

	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (lseek(fd, 0, SEEK_END) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

/*
 * Wait up to @timeout_ms for a record with every string of the NULL-ended
 * @needles in its text; copy the text to @line. 0 or -ETIMEDOUT.
 */
static inline int kmsg_wait(int fd, const char *const *needles,
			    int timeout_ms, char *line, size_t size)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct timespec start;
	char rec[8192], *text;
	ssize_t len;
	long left;
	int i;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		len = read(fd, rec, sizeof(rec) - 1);
		if (len < 0) {
			/* EPIPE: records were overwritten; go on after them. */
			if (errno == EPIPE)
				continue;
			if (errno != EAGAIN)
				return -errno;
			left = timeout_ms - ms_since(&start);
			if (left <= 0)
				return -ETIMEDOUT;
			poll(&pfd, 1, left);
			continue;
		}
		/* "level,seq,time,flags;text\n" and maybe " KEY=value" lines */
		rec[len] = 0;
		text = strchr(rec, ';');
		text = text ? text + 1 : rec;
		text[strcspn(text, "\n")] = 0;
		for (i = 0; needles[i]; i++) {
			if (!strstr(text, needles[i]))
				break;
		}
		if (!needles[i]) {
			fmt_buf(line, size, "%s", text);	/* may be cut short */
			return 0;
		}
	}
}

/*
 * Wait for the IOMMU's report of a blocked DMA by PCI device @bdf to or
 * from @iova (page aligned), such as "DMAR: [DMA Write NO_PASID] Request
 * device [00:05.0] fault addr 0x200000 [fault reason 0x05] PTE Write
 * access is not set"; intel-iommu prints it from its fault interrupt.
 */
static inline int dma_fault_wait(int kmsg, const char *bdf, uint64_t iova,
				 bool write, char *line, size_t size)
{
	const char *rid = strchr(bdf, ':');
	char who[128];
	const char *const needles[] = {
		write ? "DMAR: [DMA Write" : "DMAR: [DMA Read", who, NULL,
	};
	int rc;

	/* The report names the device without its PCI domain. */
	rc = fmt_buf(who, sizeof(who), "Request device [%s] fault addr 0x%llx ",
		     rid ? rid + 1 : bdf, (unsigned long long)iova);
	if (rc)
		return rc;
	return kmsg_wait(kmsg, needles, EDU_DMA_TIMEOUT_MS, line, size);
}

/*
 * A program that a test runs, on a pipe each way (its stderr on its
 * stdout), or on a pseudo-terminal, for a program that buffers all it
 * writes to a pipe and talks only to a terminal (DPDK's testpmd).
 */
struct child {
	pid_t pid;
	int in, out;
	char *buf;	/* all it wrote, NUL-terminated */
	size_t len, size;
};

/* Whether @name is an executable in $PATH. */
static inline bool in_path(const char *name)
{
	char *path = getenv("PATH"), *dirs, *dir, *save;
	char file[PATH_MAX];
	bool found = false;

	if (!path)
		return false;
	dirs = strdup(path);
	if (!dirs)
		return false;
	for (dir = strtok_r(dirs, ":", &save); dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		if (!fmt_buf(file, sizeof(file), "%s/%s", dir, name))
			found = !access(file, X_OK);
	}
	free(dirs);
	return found;
}

/* Start @argv[0] from $PATH; up to @size - 1 bytes of its output are kept. */
static inline int child_start(struct child *c, char *const argv[], size_t size,
			      bool pty)
{
	int to[2] = { -1, -1 }, from[2] = { -1, -1 };
	int rc = -ENOMEM;

	c->len = 0;
	c->size = size;
	c->buf = calloc(1, size);
	if (!c->buf)
		return rc;
	if (pty) {
		char *name;

		from[0] = posix_openpt(O_RDWR | O_NOCTTY);
		if (from[0] < 0 || grantpt(from[0]) || unlockpt(from[0]))
			goto err;
		name = ptsname(from[0]);
		from[1] = name ? open(name, O_RDWR | O_NOCTTY) : -1;
		if (from[1] < 0)
			goto err;
		to[1] = dup(from[0]);
		to[0] = dup(from[1]);
		if (to[0] < 0 || to[1] < 0)
			goto err;
	} else if (pipe(to) || pipe(from)) {
		goto err;
	}
	c->pid = fork();
	if (c->pid < 0)
		goto err;
	if (!c->pid) {
		/* It dies with the test, which a timeout may kill. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* A terminal of its own: the program's controlling one. */
		if (pty && (setsid() < 0 || ioctl(from[1], TIOCSCTTY, 0)))
			_exit(126);
		dup2(to[0], 0);
		dup2(from[1], 1);
		dup2(from[1], 2);
		close(to[0]);
		close(to[1]);
		close(from[0]);
		close(from[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	c->in = to[1];
	c->out = from[0];
	return 0;
err:
	rc = -errno;
	close(to[0]);
	close(to[1]);
	close(from[0]);
	close(from[1]);
	free(c->buf);
	c->buf = NULL;
	return rc;
}

/*
 * Read the child's output until what it wrote after offset @from holds
 * @until (NULL: until it closes its end) or @timeout_ms passed; true if
 * found. A terminal whose other end closed reads as EIO: the end, too.
 */
static inline bool child_read(struct child *c, const char *until, size_t from,
			      long timeout_ms)
{
	struct pollfd pfd = { .fd = c->out, .events = POLLIN };
	struct timespec start;
	ssize_t n;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		c->buf[c->len] = 0;
		if (until && from <= c->len && strstr(c->buf + from, until))
			return true;
		if (ms_since(&start) > timeout_ms || poll(&pfd, 1, 1000) < 0)
			return false;
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if (c->len + 1 >= c->size)
			return false;
		n = read(c->out, c->buf + c->len, c->size - 1 - c->len);
		if (n <= 0)
			return !until;
		c->len += n;
	}
}

/* Write @s to the child's input. */
static inline int child_write(struct child *c, const char *s)
{
	size_t len = strlen(s);

	return write(c->in, s, len) == (ssize_t)len ? 0 : -EIO;
}

/* A field of the child's /proc/PID/status in kB ("VmPin:"), or -1. */
static inline long child_status_kb(struct child *c, const char *field)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", c->pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, strlen(field)))
			kb = atol(line + strlen(field));
	fclose(f);
	return kb;
}

/*
 * Close the pipes and reap the child, killed if it did not exit within
 * @timeout_ms: its wait status, or -1 if it had to be killed.
 */
static inline int child_end(struct child *c, long timeout_ms)
{
	struct timespec start;
	int status = -1;

	close(c->in);
	close(c->out);
	free(c->buf);
	c->buf = NULL;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (waitpid(c->pid, &status, WNOHANG) != c->pid) {
		if (ms_since(&start) > timeout_ms) {
			kill(c->pid, SIGKILL);
			waitpid(c->pid, &status, 0);
			return -1;
		}
		usleep(10000);
	}
	return status;
}

#endif
