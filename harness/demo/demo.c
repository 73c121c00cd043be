// SPDX-License-Identifier: GPL-2.0
/*
 * The guided tour shown by 'make run': what /dev/iommu does today, one
 * step at a time, with what the kernel answered, ending with a PCI device
 * doing DMA through its VFIO cdev and an IOAS.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/iommufd.h>

/* From tools/testing/selftests/iommu/, shared with the vfio_edu test. */
#include "vfio_edu_util.h"

#define SRC_IOVA	0x100000
#define DST_IOVA	0x200000
#define MSG		"Hello from RAM, copied by the edu through the IOMMU"

static int step_no;

static void step(const char *what)
{
	printf("\n[demo %d] %s\n", ++step_no, what);
}

static void show(const char *call, int rc)
{
	if (rc < 0)
		printf("  %-44s -> -1, errno %d (%s)\n", call, errno,
		       strerror(errno));
	else
		printf("  %-44s -> %d\n", call, rc);
}

/* show() for helpers that return 0 or a negative errno. */
static void show_rc(const char *call, int rc)
{
	if (rc < 0) {
		errno = -rc;
		rc = -1;
	}
	show(call, rc);
}

static void show_text(const char *what, const unsigned char *buf)
{
	size_t i;

	printf("  %-4s \"", what);
	for (i = 0; i != sizeof(MSG) - 1; i++)
		putchar(buf[i] >= ' ' && buf[i] < 0x7f ? buf[i] : '?');
	printf("\"\n");
}

static void list_groups(void)
{
	struct dirent **groups;
	int n, i;

	n = scandir("/sys/kernel/iommu_groups", &groups, NULL, versionsort);
	if (n < 0) {
		perror("  /sys/kernel/iommu_groups");
		return;
	}
	for (i = 0; i < n; i++) {
		char path[512];
		struct dirent *dev;
		DIR *dir;

		if (groups[i]->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path),
			 "/sys/kernel/iommu_groups/%s/devices",
			 groups[i]->d_name);
		dir = opendir(path);
		printf("  group %-3s:", groups[i]->d_name);
		while (dir && (dev = readdir(dir))) {
			if (dev->d_name[0] != '.')
				printf(" %s", dev->d_name);
		}
		printf("\n");
		if (dir)
			closedir(dir);
	}
}

/*
 * QEMU's edu device copies memory with its DMA engine: from RAM into its
 * own buffer, and back. Here it does so through its VFIO device cdev,
 * bound to the iommufd @fd, whose IOAS decides what it may reach.
 */
static void edu_story(int fd)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	char bdf[NAME_LEN], name[NAME_LEN], driver[NAME_LEN], line[512];
	size_t page = sysconf(_SC_PAGESIZE);
	__u32 devid, ioas, pt_id;
	struct edu edu = {};
	unsigned char *src, *dst;
	bool claimed = false;
	int devfd = -1, kmsg, rc;

	step("a PCI device with a DMA engine: QEMU's edu, alone in its group");
	if (edu_find_standalone(bdf)) {
		printf("  no edu device alone in an iommu group: skipped\n");
		return;
	}
	if (pci_driver(bdf, driver, sizeof(driver)) || !driver[0])
		strcpy(driver, "none");
	printf("  edu %s in iommu group %d, driver: %s\n", bdf,
	       pci_group(bdf), driver);
	src = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src == MAP_FAILED)
		return;
	dst = src + page;

	step("give it to vfio-pci: driver_override, then drivers_probe");
	rc = vfio_pci_claim(bdf, &claimed);
	show_rc("write driver_override, drivers_probe", rc);
	if (rc)
		goto out;
	vfio_cdev_name(bdf, name, sizeof(name));
	printf("  its device cdev: /dev/vfio/devices/%s\n", name);

	step("open the cdev: until bound to an iommufd it refuses the rest");
	devfd = vfio_cdev_open(bdf);
	show_rc("open(\"/dev/vfio/devices/...\")", devfd);
	if (devfd < 0)
		goto out;
	show("ioctl(VFIO_DEVICE_GET_INFO)",
	     ioctl(devfd, VFIO_DEVICE_GET_INFO, &info));

	step("VFIO_DEVICE_BIND_IOMMUFD: the device becomes an iommufd object");
	rc = vfio_bind(devfd, fd, &devid);
	show("ioctl(VFIO_DEVICE_BIND_IOMMUFD)", rc);
	if (rc)
		goto out;
	printf("  out_devid = %u\n", devid);

	step("an IOAS with two pages of this process, at IOVA 0x100000 and 0x200000");
	strcpy((char *)src, MSG);
	memset(dst, '.', page);
	rc = ioas_alloc(fd, &ioas);
	show("ioctl(IOMMU_IOAS_ALLOC)", rc);
	if (rc)
		goto out;
	rc = ioas_map(fd, ioas, src, page, SRC_IOVA);
	show("ioctl(IOMMU_IOAS_MAP, source, 0x100000)", rc);
	if (rc)
		goto out;
	rc = ioas_map(fd, ioas, dst, page, DST_IOVA);
	show("ioctl(IOMMU_IOAS_MAP, destination, 0x200000)", rc);
	if (rc)
		goto out;

	step("VFIO_DEVICE_ATTACH_IOMMUFD_PT: the device's DMA goes through the IOAS");
	pt_id = ioas;
	rc = vfio_attach(devfd, &pt_id);
	show("ioctl(VFIO_DEVICE_ATTACH_IOMMUFD_PT, ioas)", rc);
	if (rc)
		goto out;
	printf("  pt_id = %u: the page table the kernel made for IOAS %u\n",
	       pt_id, ioas);

	step("DMA: IOVA 0x100000 -> edu buffer -> IOVA 0x200000");
	rc = edu_open(&edu, devfd);
	show_rc("enable memory and bus master, mmap BAR0", rc);
	if (rc)
		goto out;
	show_rc("edu DMA, RAM to edu, from 0x100000",
		edu_dma_from_ram(&edu, SRC_IOVA, sizeof(MSG)));
	show_rc("edu DMA, edu to RAM, to 0x200000",
		edu_dma_to_ram(&edu, DST_IOVA, sizeof(MSG)));
	show_text("src", src);
	show_text("dst", dst);

	step("unmap the destination: the same DMA now hits the IOMMU");
	memset(dst, '.', page);
	rc = ioas_unmap(fd, ioas, DST_IOVA, page, NULL);
	show("ioctl(IOMMU_IOAS_UNMAP, 0x200000)", rc);
	kmsg = kmsg_open();
	show_rc("edu DMA, edu to RAM, to 0x200000",
		edu_dma_to_ram(&edu, DST_IOVA, sizeof(MSG)));
	if (kmsg >= 0 && !dma_fault_wait(kmsg, bdf, DST_IOVA, true, line,
					 sizeof(line)))
		printf("  the kernel logged: %s\n", line);
	else
		printf("  no IOMMU fault report in the kernel log!\n");
	if (kmsg >= 0)
		close(kmsg);
	show_text("dst", dst);
	printf("  (the page is still this process's: the device cannot reach it)\n");

	step("detach and close: the device goes back to the kernel");
	show("ioctl(VFIO_DEVICE_DETACH_IOMMUFD_PT)", vfio_detach(devfd));
out:
	edu_close(&edu);
	if (devfd >= 0)
		close(devfd);
	munmap(src, 2 * page);
	if (claimed)
		show_rc("unbind from vfio-pci, clear driver_override",
			vfio_pci_release(bdf, claimed));
}

int main(void)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_destroy destroy = { .size = sizeof(destroy) };
	int fd, rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("iommufd demo\n");

	step("open /dev/iommu: each open file is a context holding objects");
	fd = open("/dev/iommu", O_RDWR);
	show("open(\"/dev/iommu\")", fd);
	if (fd < 0)
		return 1;

	step("IOMMU_IOAS_ALLOC: create an empty IO address space");
	rc = ioctl(fd, IOMMU_IOAS_ALLOC, &alloc);
	show("ioctl(IOMMU_IOAS_ALLOC)", rc);
	printf("  out_ioas_id = %u\n", alloc.out_ioas_id);

	step("IOMMU_DESTROY: destroy it by ID, then once more");
	destroy.id = alloc.out_ioas_id;
	show("ioctl(IOMMU_DESTROY, id)", ioctl(fd, IOMMU_DESTROY, &destroy));
	show("ioctl(IOMMU_DESTROY, id) again",
	     ioctl(fd, IOMMU_DESTROY, &destroy));

	step("bad requests are refused with their documented errno");
	alloc.flags = 1;
	show("IOMMU_IOAS_ALLOC with unknown flags",
	     ioctl(fd, IOMMU_IOAS_ALLOC, &alloc));
	alloc.flags = 0;
	alloc.size = 4;
	show("IOMMU_IOAS_ALLOC with size 4",
	     ioctl(fd, IOMMU_IOAS_ALLOC, &alloc));
	show("ioctl number 0x7f", ioctl(fd, _IO(IOMMUFD_TYPE, 0x7f), &alloc));

	step("the iommu groups of this machine");
	list_groups();

	edu_story(fd);

	close(fd);
	printf("\ndemo done\n");
	return 0;
}
