/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Small helpers the iommu selftests share: procfs and debugfs files,
 * failing the Nth fault-injection point of the calling thread on purpose
 * through /proc/self/task/<tid>/fail-nth (every slab and page allocation
 * counts, and so does fail_iommufd), the IOMMU_TEST_CMD checks of page
 * tables and pin counts, what debugfs "iommufd/contexts" shows of this
 * process's objects, mapping files, and live updates by fork.
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
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/iommufd.h>

#include "../../../../drivers/iommu/iommufd/iommufd_test.h"

/* For tests on the kselftest harness: the call fails with exactly errno. */
#define EXPECT_ERRNO(expected, cmd)                                            \
	do {                                                                   \
		ASSERT_EQ(-1, cmd);                                            \
		EXPECT_EQ(expected, errno);                                    \
	} while (0)

/* The same for a helper that returns the negative errno. */
#define EXPECT_ERRNO_NEG(expected, cmd) EXPECT_EQ(-(expected), cmd)

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

/* Drop capability @cap from the effective set, for the rest of a process. */
static inline int drop_effective_cap(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[cap / 32].effective &= ~(1u << (cap % 32));
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

#define IOMMUFD_CONTAINER "/sys/module/vfio/parameters/iommufd_container"

/*
 * /dev/vfio/vfio, served by iommufd or by VFIO's own container (type1), as
 * vfio.iommufd_container picks at each open; the parameter is left off
 * (-EIO if it cannot be). The file descriptor, or a negative errno.
 */
static inline int vfio_container_open(bool iommufd)
{
	int fd, rc;

	rc = write_file(IOMMUFD_CONTAINER, iommufd ? "1" : "0");
	if (rc)
		return rc;
	fd = open("/dev/vfio/vfio", O_RDWR);
	rc = fd < 0 ? -errno : 0;
	if (write_file(IOMMUFD_CONTAINER, "0") && fd >= 0) {
		close(fd);
		return -EIO;
	}
	return fd < 0 ? rc : fd;
}

/* Set a debugfs boolean: 0 or -errno. */
static inline int debugfs_bool(const char *path, bool on)
{
	return write_file(path, on ? "Y" : "N");
}

#define HUGEPAGES_POOL "/proc/sys/vm/nr_hugepages"

static inline long read_long(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY);
	ssize_t len;

	if (fd < 0)
		return -1;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return len > 0 ? atol(buf) : -1;
}

/*
 * One 2 MiB page more in the pool than it had, so that a page some other
 * test left in use does not starve this one. Returns the pool's size to
 * give hugepage_put(), or -1 with the pool as it was.
 */
static inline long hugepage_get(void)
{
	long pool = read_long(HUGEPAGES_POOL);
	char val[32];

	if (pool < 0)
		return -1;
	snprintf(val, sizeof(val), "%ld", pool + 1);
	if (write_file(HUGEPAGES_POOL, val) || read_long(HUGEPAGES_POOL) <= pool) {
		snprintf(val, sizeof(val), "%ld", pool);
		write_file(HUGEPAGES_POOL, val);
		return -1;
	}
	return pool;
}

static inline int hugepage_put(long pool)
{
	char val[32];

	snprintf(val, sizeof(val), "%ld", pool);
	return write_file(HUGEPAGES_POOL, val);
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
 * Quiet fault injection into slab allocations, sleeping ones too; false if
 * the kernel has no fault injection to offer. The page allocator's stays
 * off (its min-order above every order): it never fails order 0, and what
 * it does fail, a slab's refill or kvmalloc()'s first try, the kernel gets
 * over by itself, while whether such a call comes at all changes from one
 * run of a sweep to the next, moving the positions of the allocations
 * that matter so that a sweep could pass one by.
 */
static inline bool fault_injection_prepare(void)
{
	if (access(fail_nth_file(), W_OK) || access("/sys/kernel/debug", R_OK))
		return false;
	fault_injection_verbose("0");
	return !write_file("/sys/kernel/debug/failslab/ignore-gfp-wait", "N") &&
	       !write_file("/sys/kernel/debug/fail_page_alloc/min-order",
			   "64");
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

/*
 * The whole of a small text file of debugfs or tracefs into @buf, with a
 * NUL at the end; its length, or -1.
 */
static inline ssize_t read_text(const char *path, char *buf, size_t size)
{
	ssize_t len = 0, rc;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	while ((size_t)len + 1 < size) {
		rc = read(fd, buf + len, size - len - 1);
		if (rc <= 0)
			break;
		len += rc;
	}
	close(fd);
	buf[len] = 0;
	return len;
}

#define CONTEXTS_FILE "/sys/kernel/debug/iommufd/contexts"

/*
 * How many contexts this process has open, by debugfs "iommufd/contexts";
 * the lines of the first one go to @section.
 */
static inline int debugfs_own_contexts(char *buf, size_t size,
				       char *section, size_t section_size)
{
	char head[64], *line, *next;
	int n = 0;

	if (read_text(CONTEXTS_FILE, buf, size) < 0)
		return -1;
	snprintf(head, sizeof(head), "context tgid=%d ", getpid());
	section[0] = 0;
	for (line = buf; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			next++;
		if (strncmp(line, head, strlen(head)))
			continue;
		if (!n++) {
			/* Up to the next context's first line. */
			char *end = strstr(line + 1, "\ncontext ");
			size_t len = end ? (size_t)(end - line + 1) :
					   strlen(line);

			if (len >= section_size)
				len = section_size - 1;
			memcpy(section, line, len);
			section[len] = 0;
		}
	}
	return n;
}

/*
 * The debugfs line of page table @hwpt of this process's first context,
 * without its newline, in @line; false if there is none.
 */
static inline bool hwpt_line(uint32_t hwpt, char *line, size_t size)
{
	size_t bufsize = 1 << 20, section_size = 65536;
	char *buf = malloc(bufsize), *section = malloc(section_size);
	char head[48], *start, *end;
	bool found = false;

	if (!buf || !section)
		goto out;
	if (debugfs_own_contexts(buf, bufsize, section, section_size) < 1)
		goto out;
	snprintf(head, sizeof(head), "\n  %u hw_pagetable ", hwpt);
	start = strstr(section, head);
	if (!start)
		goto out;
	start++;
	end = strchr(start, '\n');
	if (!end || (size_t)(end - start) >= size)
		goto out;
	memcpy(line, start, end - start);
	line[end - start] = 0;
	found = true;
out:
	free(section);
	free(buf);
	return found;
}

/* Whether page table @hwpt's debugfs line has @field (such as "a=b"). */
static inline bool hwpt_has(uint32_t hwpt, const char *field)
{
	char line[512], want[128];
	size_t len;

	if (!hwpt_line(hwpt, line, sizeof(line)))
		return false;
	snprintf(want, sizeof(want), " %s", field);
	len = strlen(want);
	for (char *p = strstr(line, want); p; p = strstr(p + 1, want))
		if (p[len] == ' ' || !p[len])
			return true;
	return false;
}

/*
 * The page table that device @idev of this process's first context is
 * attached to, if its IOMMU group is indeed on that page table's domain;
 * 0 otherwise.
 */
static inline uint32_t device_page_table(uint32_t idev)
{
	size_t bufsize = 1 << 20, section_size = 65536;
	char *buf = malloc(bufsize), *section = malloc(section_size);
	char head[48], *start, *end, *pt;
	uint32_t hwpt = 0;

	if (!buf || !section)
		goto out;
	if (debugfs_own_contexts(buf, bufsize, section, section_size) < 1)
		goto out;
	snprintf(head, sizeof(head), "\n  %u device ", idev);
	start = strstr(section, head);
	if (!start)
		goto out;
	end = strchr(start + 1, '\n');
	if (end)
		*end = 0;
	pt = strstr(start, " hw_pagetable=");
	if (pt && strstr(start, " in_domain=yes"))
		hwpt = strtoul(pt + strlen(" hw_pagetable="), NULL, 10);
out:
	free(section);
	free(buf);
	return hwpt;
}

/* Whether device @idev is attached, its group on its page table's domain. */
static inline bool device_in_domain(uint32_t idev)
{
	return device_page_table(idev) != 0;
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

/* The kernel's budget for temporary buffers, until a test changes it. */
#define TEMP_MEMORY_DEFAULT 65536

/* Set that budget, which is global (0 or -1, errno). */
static inline int set_temp_memory_limit(int fd, uint32_t limit)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,
		.memory_limit = { .limit = limit },
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

/*
 * IOMMU_IOAS_MAP_FILE of [start, start + length) of file @mfd, at *@iova
 * with IOMMU_IOAS_MAP_FIXED_IOVA in @flags, else at the IOVA the kernel
 * chooses, returned in *@iova. 0 or -1 with errno.
 */
static inline int map_file(int fd, uint32_t ioas, uint32_t flags, int mfd,
			   uint64_t start, uint64_t length, uint64_t *iova)
{
	struct iommu_ioas_map_file cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.ioas_id = ioas,
		.fd = mfd,
		.start = start,
		.length = length,
		.iova = *iova,
	};
	int rc;

	rc = ioctl(fd, IOMMU_IOAS_MAP_FILE, &cmd);
	if (!rc)
		*iova = cmd.iova;
	return rc;
}

/*
 * IOMMU_IOAS_COPY of [src_iova, src_iova + length) of IOAS @src to IOAS
 * @dst at *@dst_iova, or where the kernel chooses, returned in *@dst_iova,
 * without IOMMU_IOAS_MAP_FIXED_IOVA in @flags. 0 or -1 with errno.
 */
static inline int ioas_copy(int fd, uint32_t flags, uint32_t dst,
			    uint64_t *dst_iova, uint32_t src,
			    uint64_t src_iova, uint64_t length)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.dst_ioas_id = dst,
		.src_ioas_id = src,
		.length = length,
		.dst_iova = *dst_iova,
		.src_iova = src_iova,
	};
	int rc;

	rc = ioctl(fd, IOMMU_IOAS_COPY, &cmd);
	*dst_iova = cmd.dst_iova;
	return rc;
}

/*
 * An ioctl argument the kernel can read but not write back: a page of its
 * own holding a copy of @arg, read-only. NULL on failure; munmap() it with
 * getpagesize().
 */
static inline void *readonly_arg(const void *arg, size_t len)
{
	size_t size = getpagesize();
	void *page = mmap(NULL, size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (page == MAP_FAILED)
		return NULL;
	memcpy(page, arg, len);
	if (mprotect(page, size, PROT_READ)) {
		munmap(page, size);
		return NULL;
	}
	return page;
}

/* IOMMU_IOAS_CHANGE_PROCESS: 0 or -1 with errno. */
static inline int change_process(int fd, uint32_t reserved)
{
	struct iommu_ioas_change_process cmd = {
		.size = sizeof(cmd),
		.__reserved = reserved,
	};

	return ioctl(fd, IOMMU_IOAS_CHANGE_PROCESS, &cmd);
}

/*
 * A live update by fork. The old process runs @old_process, then forks the
 * new process, which inherits its file descriptors and memory, and exits,
 * as a VMM hands its devices to the VMM that replaces it (QEMU's cpr-exec
 * keeps them across exec the same way). The new process waits until the
 * old one is gone and runs @new_process. The caller becomes the subreaper
 * that inherits the new process and waits for both. Each function returns
 * whether all went well. They may use the kselftest EXPECTs, which only
 * record a failure, but not the ASSERTs, which would jump back into the
 * harness from the wrong process.
 *
 * Returns true if both processes did well.
 */
static inline bool live_update(bool (*old_process)(void *arg),
			       bool (*new_process)(void *arg), void *arg)
{
	int status;
	pid_t old;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		return false;
	old = fork();
	if (old < 0)
		return false;
	if (!old) {
		pid_t self = getpid(), new;

		if (!old_process(arg))
			_exit(1);
		new = fork();
		if (new)
			_exit(new < 0);
		while (getppid() == self)
			usleep(1000);
		_exit(!new_process(arg));
	}
	if (waitpid(old, &status, 0) != old || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return false;
	/* The old process's exit made the new one a child of this one. */
	if (wait(&status) < 0)
		return false;
	return WIFEXITED(status) && !WEXITSTATUS(status);
}

/*
 * Pin [iova, iova + length) through test access @access
 * (IOMMU_TEST_OP_ACCESS_PAGES); *@id, if not NULL: the pin, for
 * access_unpin(). 0 or -1 with errno.
 */
static inline int access_pin(int fd, int access, uint64_t iova,
			     uint64_t length, void *va, uint32_t flags,
			     uint32_t *id)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_ACCESS_PAGES,
		.id = access,
		.access_pages = { .flags = flags, .iova = iova,
				  .length = length, .uptr = (uintptr_t)va },
	};
	int rc;

	rc = ioctl(fd, IOMMU_TEST_CMD, &cmd);
	if (!rc && id)
		*id = cmd.access_pages.out_access_pages_id;
	return rc;
}

/* Unpin pin @id of @access; ENOENT if the unmap callback already did. */
static inline int access_unpin(int fd, int access, uint32_t id)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES,
		.id = access,
		.destroy_access_pages = { .access_pages_id = id },
	};

	return ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

#endif
