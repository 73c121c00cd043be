/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Small helpers the iommu selftests share: procfs and debugfs files,
 * failing the Nth fault-injection point of the calling thread on purpose
 * through /proc/self/task/<tid>/fail-nth (every slab and page allocation
 * counts, and so does fail_iommufd), and the IOMMU_TEST_CMD checks of page
 * tables and pin counts.
 */
#ifndef __IOMMUFD_TEST_UTIL_H
#define __IOMMUFD_TEST_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/iommufd.h>

#include "../../../../drivers/iommu/iommufd/iommufd_test.h"

/*
 * Write @val to a small file such as a sysfs or debugfs attribute, with one
 * write() so that the store's errno reaches the caller: 0 or -errno.
 */
static inline int write_file(const char *path, const char *val)
{
	ssize_t len = strlen(val), rc;
	int fd, err = 0;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	rc = write(fd, val, len);
	if (rc < 0)
		err = -errno;
	else if (rc != len)
		err = -EIO;
	close(fd);
	return err;
}

/* Set a debugfs boolean: 0 or -errno. */
static inline int debugfs_bool(const char *path, bool on)
{
	return write_file(path, on ? "Y" : "N");
}

/* A field of /proc/self/status such as "VmPin:", in kB; -1 if missing. */
static inline long status_kb(const char *field)
{
	char line[256];
	long val = -1;
	FILE *f;

	f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, strlen(field))) {
			val = strtol(line + strlen(field), NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

/* /proc/self/task/<tid>/fail-nth of the calling thread. */
static inline const char *fail_nth_file(void)
{
	static char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth",
		 (long)syscall(SYS_gettid));
	return path;
}

/* Make every fault-injection attribute print a stack when it fires, or not. */
static inline void fault_injection_verbose(const char *val)
{
	struct dirent *dent;
	char path[300];
	DIR *dir;

	dir = opendir("/sys/kernel/debug");
	if (!dir)
		return;
	while ((dent = readdir(dir))) {
		if (strncmp(dent->d_name, "fail", 4))
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/debug/%s/verbose",
			 dent->d_name);
		write_file(path, val);
	}
	closedir(dir);
}

/*
 * Quiet fault injection that counts sleeping allocations too; false if the
 * kernel has no fault injection to offer.
 */
static inline bool fault_injection_prepare(void)
{
	if (access(fail_nth_file(), W_OK) || access("/sys/kernel/debug", R_OK))
		return false;
	fault_injection_verbose("0");
	return !write_file("/sys/kernel/debug/failslab/ignore-gfp-wait", "N") &&
	       !write_file("/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait",
			   "N");
}

static inline void fail_nth_set(unsigned int nth)
{
	char val[16];

	snprintf(val, sizeof(val), "%u", nth);
	write_file(fail_nth_file(), val);
}

/*
 * Stop injecting. Returns whether the fault was injected: the file reads 0
 * once it was. The read and write themselves may hit the fault; then it
 * counts as injected and the write is retried.
 */
static inline bool fail_nth_stop(void)
{
	char val[16] = "";
	bool injected = true;
	int fd, i;

	fd = open(fail_nth_file(), O_RDONLY);
	if (fd >= 0) {
		if (read(fd, val, sizeof(val) - 1) > 0)
			injected = atoi(val) == 0;
		close(fd);
	}
	for (i = 0; i != 100 && write_file(fail_nth_file(), "0"); i++)
		;
	return injected;
}

/* Each page of [va, va + length) is pinned @refs times (0 or -1, errno). */
static inline int md_check_refs(int fd, void *va, uint64_t length,
				uint32_t refs)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_MD_CHECK_REFS,
		.check_refs = { .length = length, .uptr = (uintptr_t)va,
				.refs = refs },
	};

	return ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

/* Page table @hwpt maps [iova, iova + length) to @va (0 or -1, errno). */
static inline int md_check_map(int fd, uint32_t hwpt, uint64_t iova, void *va,
			       uint64_t length)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_MD_CHECK_MAP,
		.id = hwpt,
		.check_map = { .iova = iova, .length = length,
			       .uptr = (uintptr_t)va },
	};

	return ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

#endif
