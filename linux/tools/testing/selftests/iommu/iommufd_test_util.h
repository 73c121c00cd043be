/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Small helpers the iommu selftests share: procfs and debugfs files.
 */
#ifndef __IOMMUFD_TEST_UTIL_H
#define __IOMMUFD_TEST_UTIL_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Write @val to a small file such as a debugfs switch: 0 or -1. */
static inline int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t len = strlen(val), rc;

	if (fd < 0)
		return -1;
	rc = write(fd, val, len);
	close(fd);
	return rc == len ? 0 : -1;
}

/* Set a debugfs boolean: 0 or -1. */
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

#endif
