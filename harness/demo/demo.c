// SPDX-License-Identifier: GPL-2.0
/*
 * The guided tour shown by 'make run': what /dev/iommu does today, one
 * step at a time, with what the kernel answered.
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

	close(fd);
	printf("\ndemo done\n");
	return 0;
}
