// SPDX-License-Identifier: GPL-2.0-only
/*
 * A real client of the VFIO type1 interface: QEMU, given QEMU's edu device
 * with -device vfio-pci,host=..., as QEMU before 9 and libvirt use it. QEMU
 * opens /dev/vfio/vfio, sets the edu's group to that container, chooses
 * VFIO_TYPE1v2_IOMMU and maps the guest's RAM with VFIO_IOMMU_MAP_DMA. The
 * test runs it once with VFIO's type1 serving /dev/vfio/vfio and once with
 * iommufd serving it (vfio.iommufd_container), and checks that the guest
 * sees the edu (the monitor's "info pci") and that QEMU exits cleanly.
 *
 * QEMU comes from $PATH (qemu-system-x86_64); without it the tests skip.
 * The guest runs no code (-S): realizing the device is what maps its RAM.
 * QEMU prompts on its monitor before it builds the machine, so the test
 * waits for the answer to "info pci" before it looks at the pins.
 * Which provider served the container shows in QEMU's counters: type1
 * charges the pinned RAM to VmLck, iommufd counts it in VmPin (and, as
 * QEMU runs as root with CAP_IPC_LOCK, charges nothing).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "vfio_edu_util.h"

#define QEMU		"qemu-system-x86_64"
#define GUEST_MIB	64
#define PROMPT		"(qemu) "
#define QEMU_TIMEOUT_MS	120000

/* Whether @name is an executable in $PATH. */
static bool in_path(const char *name)
{
	char *path = getenv("PATH"), *dirs, *dir, *save;
	char file[PATH_MAX];
	bool found = false;

	if (!path)
		return false;
	dirs = strdup(path);
	for (dir = strtok_r(dirs, ":", &save); dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(file, sizeof(file), "%s/%s", dir, name);
		found = !access(file, X_OK);
	}
	free(dirs);
	return found;
}

/* A QEMU running with its monitor on a pipe each way. */
struct qemu {
	pid_t pid;
	int in, out;
	char buf[1 << 16];
	size_t len;
};

static int qemu_start(struct qemu *q, const char *bdf)
{
	char device[64], mem[16];
	int to[2], from[2];

	snprintf(device, sizeof(device), "vfio-pci,host=%s", bdf);
	snprintf(mem, sizeof(mem), "%dM", GUEST_MIB);
	if (pipe(to) || pipe(from))
		return -errno;
	q->len = 0;
	q->pid = fork();
	if (q->pid < 0)
		return -errno;
	if (!q->pid) {
		dup2(to[0], 0);
		dup2(from[1], 1);
		dup2(from[1], 2);
		close(to[1]);
		close(from[0]);
		execlp(QEMU, QEMU, "-machine", "q35,accel=tcg", "-m", mem,
		       "-nodefaults", "-display", "none", "-S", "-monitor",
		       "stdio", "-device", device, NULL);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	q->in = to[1];
	q->out = from[0];
	return 0;
}

/*
 * Read QEMU's output until it holds @until (NULL: until QEMU closes it) or
 * the time is up; true if found.
 */
static bool qemu_read(struct qemu *q, const char *until)
{
	struct pollfd pfd = { .fd = q->out, .events = POLLIN };
	struct timespec start;
	ssize_t n;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		q->buf[q->len] = 0;
		if (until && strstr(q->buf, until))
			return true;
		if (ms_since(&start) > QEMU_TIMEOUT_MS ||
		    poll(&pfd, 1, 1000) < 0)
			return false;
		if (!(pfd.revents & (POLLIN | POLLHUP)))
			continue;
		n = read(q->out, q->buf + q->len, sizeof(q->buf) - 1 - q->len);
		if (n <= 0)
			return !until;
		q->len += n;
	}
}

/* A "VmPin:" or "VmLck:" line of QEMU's /proc/PID/status, in kB. */
static long qemu_status_kb(struct qemu *q, const char *field)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", q->pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, strlen(field)))
			kb = atol(line + strlen(field));
	fclose(f);
	return kb;
}

FIXTURE(qemu)
{
	char bdf[NAME_LEN];
	bool claimed;
	bool found;
};

FIXTURE_SETUP(qemu)
{
	/* A QEMU that died must not take the test along when it is written. */
	signal(SIGPIPE, SIG_IGN);
	if (!in_path(QEMU))
		SKIP(return, "no " QEMU " in $PATH");
	if (edu_find_standalone(self->bdf))
		SKIP(return, "no edu device alone in its IOMMU group");
	ASSERT_EQ(0, vfio_pci_claim(self->bdf, &self->claimed));
	self->found = true;
}

FIXTURE_TEARDOWN(qemu)
{
	write_file(IOMMUFD_CONTAINER, "0");
	if (self->found)
		EXPECT_EQ(0, vfio_pci_release(self->bdf, self->claimed));
}

/*
 * Run QEMU with /dev/vfio/vfio served by iommufd or type1, check the
 * guest's PCI bus and the charge of its RAM, quit.
 */
static void run_qemu(struct __test_metadata *_metadata, const char *bdf,
		     bool iommufd)
{
	/* All of RAM but what the VGA and BIOS windows below 1 MiB hide. */
	const long ram_kb = (GUEST_MIB - 1) * 1024;
	struct qemu q;
	int status;

	q.buf[0] = 0;
	ASSERT_EQ(0, write_file(IOMMUFD_CONTAINER, iommufd ? "1" : "0"));
	ASSERT_EQ(0, qemu_start(&q, bdf));
	/*
	 * The monitor prompts before the machine is built; its answer to a
	 * command comes once the device is realized and the RAM mapped.
	 */
	EXPECT_TRUE(qemu_read(&q, PROMPT)) TH_LOG("QEMU said: %s", q.buf);
	EXPECT_LT(0, write(q.in, "info pci\n", 9));
	EXPECT_TRUE(qemu_read(&q, "PCI device 1234:11e8"))
		TH_LOG("QEMU said: %s", q.buf);
	/* QEMU has opened /dev/vfio/vfio by now. */
	ASSERT_EQ(0, write_file(IOMMUFD_CONTAINER, "0"));
	if (iommufd) {
		/* Root is not charged: only VmPin counts the pins. */
		EXPECT_LE(ram_kb, qemu_status_kb(&q, "VmPin:"));
		EXPECT_EQ(0, qemu_status_kb(&q, "VmLck:"));
	} else {
		EXPECT_LE(ram_kb, qemu_status_kb(&q, "VmLck:"));
		EXPECT_EQ(0, qemu_status_kb(&q, "VmPin:"));
	}

	EXPECT_LT(0, write(q.in, "quit\n", 5));
	EXPECT_TRUE(qemu_read(&q, NULL));
	close(q.in);
	close(q.out);
	/* A QEMU that did not quit in time is a failure, not a hang. */
	if (waitpid(q.pid, &status, WNOHANG) != q.pid) {
		kill(q.pid, SIGKILL);
		ASSERT_EQ(q.pid, waitpid(q.pid, &status, 0));
	}
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_F_TIMEOUT(qemu, type1_container, 300)
{
	if (!self->found)
		SKIP(return, "no edu");
	run_qemu(_metadata, self->bdf, false);
}

TEST_F_TIMEOUT(qemu, iommufd_container, 300)
{
	if (!self->found)
		SKIP(return, "no edu");
	run_qemu(_metadata, self->bdf, true);
}

TEST_HARNESS_MAIN
