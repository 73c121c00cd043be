/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Failing the Nth fault-injection point of the calling task on purpose,
 * through /proc/self/task/<tid>/fail-nth: every slab and page allocation
 * counts, and so does every fault-injection attribute of the code under
 * test (fail_iommufd). Shared by iommufd_fail_nth and vfio_edu.
 */
#ifndef __SELFTEST_IOMMU_FAIL_NTH_UTIL_H
#define __SELFTEST_IOMMU_FAIL_NTH_UTIL_H

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static char fail_nth_path[64];

static inline int fail_nth_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t len = strlen(val), rc;

	if (fd < 0)
		return -1;
	rc = write(fd, val, len);
	close(fd);
	return rc == len ? 0 : -1;
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
		fail_nth_write(path, val);
	}
	closedir(dir);
}

/*
 * Quiet fault injection that counts sleeping allocations too; false if the
 * kernel has no fault injection to offer.
 */
static inline bool fault_injection_prepare(void)
{
	snprintf(fail_nth_path, sizeof(fail_nth_path),
		 "/proc/self/task/%ld/fail-nth", (long)syscall(SYS_gettid));
	if (access(fail_nth_path, W_OK) || access("/sys/kernel/debug", R_OK))
		return false;
	fault_injection_verbose("0");
	return !fail_nth_write("/sys/kernel/debug/failslab/ignore-gfp-wait",
			       "N") &&
	       !fail_nth_write("/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait",
			       "N");
}

static inline void fail_nth_set(unsigned int nth)
{
	char val[16];

	snprintf(val, sizeof(val), "%u", nth);
	fail_nth_write(fail_nth_path, val);
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

	fd = open(fail_nth_path, O_RDONLY);
	if (fd >= 0) {
		if (read(fd, val, sizeof(val) - 1) > 0)
			injected = atoi(val) == 0;
		close(fd);
	}
	for (i = 0; i != 100 && fail_nth_write(fail_nth_path, "0"); i++)
		;
	return injected;
}

#endif
