// SPDX-License-Identifier: GPL-2.0-only
/*
 * DPDK on VFIO: Debian's dpdk-testpmd (DPDK 22.11), which knows nothing of
 * iommufd, drives two emulated e1000e NICs (82574L, DPDK's net_e1000_em)
 * through vfio-pci and /dev/vfio/vfio. The machine's QEMU puts both on one
 * hub, so what one port sends the other receives. Each case runs testpmd
 * with the container served by one provider: VFIO's own (type1, or on a
 * machine without an IOMMU its no-IOMMU driver) or iommufd
 * (vfio.iommufd_container=1).
 *
 * testpmd maps its hugepage memory as it allocates it, IOVA as VA (as
 * physical addresses without an IOMMU), then sends a fixed number of
 * packets from each port ("start tx_first"), which the other port takes
 * in rxonly mode. rxonly prints each packet as it reads it from memory
 * the NIC wrote: the test checks every one's addresses, type and length,
 * and each port's counters: all sent, all received, none missed, dropped
 * or in error. Then packets go round the two ports in io mode for a few
 * seconds ($DPDK_SECONDS, default 3), and testpmd's own Rx-pps counters
 * give the rate, printed as "dpdk <provider> <packets/s>" (make bench
 * reads it, running one provider at a time with DPDK_ONLY=vfio|iommufd).
 *
 * testpmd comes from $PATH, its drivers from its wrapper's -d; without it
 * or without two e1000e the tests skip. It writes to a terminal only as
 * it goes (to a pipe, only when its buffer fills), hence the pty. Its
 * prompt, which tells a command done, goes out a character at a time:
 * nothing else may print meanwhile, so no link state events (the links
 * are up once it prompts first), and no prompt is awaited while the rx
 * lcore prints packets.
 */
#include <sys/mount.h>
#include <sys/stat.h>

#include "../kselftest_harness.h"
#include "vfio_edu_util.h"

#define TESTPMD		"dpdk-testpmd"
#define PROMPT		"testpmd> "
#define E1000E_VENDOR	0x8086
#define E1000E_DEVICE	0x10d3	/* 82574L, QEMU's e1000e */
#define NOIOMMU_MODE	"/sys/module/vfio/parameters/enable_unsafe_noiommu_mode"
#define NR_HUGEPAGES	"/proc/sys/vm/nr_hugepages"
#define HUGEPAGE_DIR	"/dev/hugepages"
/*
 * Of 2 MiB: 16384 mbufs of 2176 bytes (what the rings of 1024 descriptors
 * hold, four of them, and each lcore's cache, with room), the rings and
 * the descriptors.
 */
#define HUGEPAGES	48
#define BURST		32	/* testpmd's packets per burst */
#define BURSTS		16	/* "start tx_first 16" from each port */
#define PACKETS		(BURST * BURSTS)
#define PACKET_LEN	64	/* what txonly sends, as rxonly reads it */
#define OUTPUT_SIZE	(8 << 20)
#define START_MS	240000	/* EAL init under TCG, KASAN and lockdep */
#define COMMAND_MS	60000

FIXTURE(dpdk)
{
	char nic[2][NAME_LEN];
	bool claimed[2];
	int nclaimed;
	bool noiommu;
	bool mounted;
	char hugepages[16];	/* nr_hugepages to restore, once changed */
	struct child testpmd;	/* running while .buf is set */
};

FIXTURE_VARIANT(dpdk)
{
	bool iommufd;
};

/* type1, or VFIO's no-IOMMU driver on a machine without an IOMMU. */
FIXTURE_VARIANT_ADD(dpdk, container_vfio)
{
	.iommufd = false,
};

FIXTURE_VARIANT_ADD(dpdk, container_iommufd)
{
	.iommufd = true,
};

static bool hugetlbfs_mounted(void)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/mounts", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, " hugetlbfs ");
	fclose(f);
	return found;
}

/* Undo what dpdk_prepare() did, as far as it got; 0 or a negative errno. */
static int dpdk_restore(struct _test_data_dpdk *self)
{
	int rc = 0, i;

	if (self->testpmd.buf && child_end(&self->testpmd, 0) == -1)
		rc = -ETIMEDOUT;	/* it had to be killed */
	write_file(IOMMUFD_CONTAINER, "0");
	for (i = self->nclaimed - 1; i >= 0; i--) {
		if (vfio_pci_release(self->nic[i], self->claimed[i]))
			rc = rc ?: -EIO;
	}
	self->nclaimed = 0;
	if (self->mounted && umount(HUGEPAGE_DIR))
		rc = rc ?: -errno;
	self->mounted = false;
	if (self->hugepages[0] && write_file(NR_HUGEPAGES, self->hugepages))
		rc = rc ?: -EIO;
	self->hugepages[0] = 0;
	return rc;
}

/*
 * The huge pages testpmd allocates from, hugetlbfs where DPDK looks for
 * it, DPDK's runtime directory and the two NICs on vfio-pci; what fails
 * is logged, and what was done is recorded for dpdk_restore().
 */
static int dpdk_prepare(struct __test_metadata *_metadata,
			struct _test_data_dpdk *self)
{
	char saved[16], want[16], got[16];
	int rc, i;

	rc = read_str(NR_HUGEPAGES, saved, sizeof(saved));
	if (rc)
		return rc;
	if (atoi(saved) < HUGEPAGES) {
		/* Free 2 MiB blocks, after the tests before. */
		write_file("/proc/sys/vm/compact_memory", "1");
		snprintf(want, sizeof(want), "%d", HUGEPAGES);
		rc = write_file(NR_HUGEPAGES, want);
		memcpy(self->hugepages, saved, sizeof(saved));
		if (!rc)
			rc = read_str(NR_HUGEPAGES, got, sizeof(got));
		if (!rc && atoi(got) < HUGEPAGES) {
			TH_LOG("only %s of %d huge pages", got, HUGEPAGES);
			rc = -ENOMEM;
		}
		if (rc)
			return rc;
	}
	if (!hugetlbfs_mounted()) {
		if (mkdir(HUGEPAGE_DIR, 0755) && errno != EEXIST)
			return -errno;
		if (mount("none", HUGEPAGE_DIR, "hugetlbfs", 0, NULL))
			return -errno;
		self->mounted = true;
	}
	/* DPDK run by root keeps its runtime directory there. */
	if ((mkdir("/var", 0755) && errno != EEXIST) ||
	    (mkdir("/var/run", 0755) && errno != EEXIST))
		return -errno;
	for (i = 0; i < 2; i++) {
		rc = vfio_pci_claim(self->nic[i], &self->claimed[i]);
		if (rc) {
			TH_LOG("%s to vfio-pci: %s", self->nic[i], strerror(-rc));
			return rc;
		}
		self->nclaimed++;
	}
	return 0;
}

FIXTURE_SETUP(dpdk)
{
	const char *only = getenv("DPDK_ONLY");
	char mode[8] = "";
	int rc;

	/* A testpmd that died must not take the test along. */
	signal(SIGPIPE, SIG_IGN);
	/* make bench runs one provider at a time: DPDK_ONLY=vfio|iommufd. */
	if (only && strcmp(only, variant->iommufd ? "iommufd" : "vfio"))
		SKIP(return, "DPDK_ONLY=%s", only);
	if (!in_path(TESTPMD))
		SKIP(return, "no " TESTPMD " in $PATH");
	if (pci_find(E1000E_VENDOR, E1000E_DEVICE, self->nic, 2) < 2)
		SKIP(return, "needs two e1000e NICs (8086:10d3)");
	/* Without an IOMMU a device has no group until vfio-pci makes one. */
	self->noiommu = pci_group(self->nic[0]) < 0;
	if (self->noiommu) {
		ASSERT_EQ(0, read_str(NOIOMMU_MODE, mode, sizeof(mode)));
		ASSERT_EQ('Y', mode[0]);
	}
	rc = dpdk_prepare(_metadata, self);
	if (rc)
		dpdk_restore(self);	/* teardown does not follow a failed setup */
	ASSERT_EQ(0, rc);
}

FIXTURE_TEARDOWN(dpdk)
{
	EXPECT_EQ(0, dpdk_restore(self));
}

/* The last @n bytes of what testpmd wrote, for a log. */
static const char *testpmd_tail(struct child *t, size_t n)
{
	return t->buf + (t->len > n ? t->len - n : 0);
}

/* Give testpmd @cmd and wait for its next prompt. */
static bool testpmd_command(struct child *t, const char *cmd)
{
	size_t from = t->len;

	return !child_write(t, cmd) && !child_write(t, "\n") &&
	       child_read(t, PROMPT, from, COMMAND_MS);
}

/* The number after @name in @text ("RX-packets:"), or -1. */
static long stat_after(const char *text, const char *name)
{
	const char *p = text ? strstr(text, name) : NULL;

	return p ? strtol(p + strlen(name), NULL, 10) : -1;
}

/* Port @port's block of "show port stats all" in @text, or NULL. */
static const char *port_stats(const char *text, int port)
{
	char header[64];

	snprintf(header, sizeof(header), "NIC statistics for port %d ", port);
	return strstr(text, header);
}

/* How many times @needle occurs in @text. */
static int occurrences(const char *text, const char *needle)
{
	int n = 0;

	while ((text = strstr(text, needle))) {
		n++;
		text += strlen(needle);
	}
	return n;
}

/* A command that must get its prompt back, or the test fails, with a log. */
static void testpmd_do(struct __test_metadata *_metadata, struct child *t,
		       const char *cmd)
{
	EXPECT_TRUE(testpmd_command(t, cmd))
		TH_LOG("no prompt after \"%s\"; testpmd said: %s", cmd,
		       testpmd_tail(t, 3000));
}

/*
 * Check the packets rxonly printed in @text, each a line "src=... -
 * dst=... - pool=... - type=0x0800 - length=64 - ..." after a line "port
 * P/queue Q: received N packets": port P must have received PACKETS, each
 * from the other port's MAC address (@mac) to the peer address testpmd
 * sends to from that port, 02:00:00:00:00:0<sender>.
 */
static void check_packets(struct __test_metadata *_metadata, const char *text,
			  char mac[2][18])
{
	int received[2] = { 0, 0 }, bad = 0, port = -1, len, n, end;
	char line[512], first_bad[512] = "", *p;
	char src[18], dst[18], want_dst[18], type[8];
	const char *eol;

	for (; *text; text = eol ? eol + 1 : text + strlen(text)) {
		eol = strchr(text, '\n');
		n = eol ? eol - text : (int)strlen(text);
		snprintf(line, sizeof(line), "%.*s", n, text);
		/* A line may follow a prompt: "testpmd> port 0/queue 0: ..." */
		p = strstr(line, "port ");
		end = 0;
		if (p && sscanf(p, "port %d/queue %*d: received %*u packets%n",
				&n, &end) == 1 && end) {
			port = n;
			continue;
		}
		p = strstr(line, "src=");
		if (!p)
			continue;
		if (port < 0 || port > 1 ||
		    sscanf(p, "src=%17s - dst=%17s - pool=%*s - type=%7s - length=%d",
			   src, dst, type, &len) != 4) {
			bad++;
			if (!first_bad[0])
				strcpy(first_bad, line);
			continue;
		}
		received[port]++;
		snprintf(want_dst, sizeof(want_dst), "02:00:00:00:00:%02X", !port);
		if (strcasecmp(src, mac[!port]) || strcasecmp(dst, want_dst) ||
		    strcmp(type, "0x0800") || len != PACKET_LEN) {
			bad++;
			if (!first_bad[0])
				strcpy(first_bad, line);
		}
	}
	EXPECT_EQ(PACKETS, received[0]);
	EXPECT_EQ(PACKETS, received[1]);
	EXPECT_EQ(0, bad)
		TH_LOG("first bad packet: %s", first_bad);
}

/* Each port's counters: all sent and received, nothing lost. */
static void check_counters(struct __test_metadata *_metadata, const char *text)
{
	const char *port[2] = { port_stats(text, 0), port_stats(text, 1) };
	int i;

	EXPECT_NE(NULL, port[0]);
	EXPECT_NE(NULL, port[1]);
	for (i = 0; i < 2 && port[0] && port[1]; i++) {
		EXPECT_EQ(PACKETS, stat_after(port[i], "TX-packets:"));
		EXPECT_EQ(0, stat_after(port[i], "TX-errors:"));
		EXPECT_EQ(PACKETS, stat_after(port[i], "RX-packets:"));
		EXPECT_EQ(0, stat_after(port[i], "RX-missed:"));
		EXPECT_EQ(0, stat_after(port[i], "RX-errors:"));
		EXPECT_EQ(0, stat_after(port[i], "RX-nombuf:"));
		/* The receiving NIC counts each frame's 4-byte FCS too. */
		EXPECT_EQ(PACKETS * PACKET_LEN, stat_after(port[i], "TX-bytes:"));
		EXPECT_EQ(PACKETS * (PACKET_LEN + 4),
			  stat_after(port[i], "RX-bytes:"));
	}
}

/* Packets per second both ports receive, io forwarding for @seconds. */
static long measure_rate(struct __test_metadata *_metadata, struct child *t,
			 int seconds)
{
	const char *port[2];
	size_t from;

	testpmd_do(_metadata, t, "set verbose 0");
	testpmd_do(_metadata, t, "set fwd io");
	/* A burst from each port, which io forwarding then keeps going. */
	testpmd_do(_metadata, t, "start tx_first");
	sleep(1);
	/* The rate is since the last "show": this one starts the period. */
	testpmd_do(_metadata, t, "show port stats all");
	sleep(seconds);
	from = t->len;
	testpmd_do(_metadata, t, "show port stats all");
	port[0] = port_stats(t->buf + from, 0);
	port[1] = port_stats(t->buf + from, 1);
	testpmd_do(_metadata, t, "stop");
	if (!port[0] || !port[1])
		return -1;
	return stat_after(port[0], "Rx-pps:") + stat_after(port[1], "Rx-pps:");
}

static void run_testpmd(struct __test_metadata *_metadata,
			struct _test_data_dpdk *self, const char *provider,
			bool iommufd)
{
	char lcores[32], mac[2][18] = { "", "" };
	char *const argv[] = {
		TESTPMD, "--lcores", lcores, "-n", "1", "--in-memory",
		"--no-telemetry", "--iova-mode", self->noiommu ? "pa" : "va",
		"-a", self->nic[0], "-a", self->nic[1], "--",
		"-i", "--no-mlockall", "--no-lsc-interrupt", "--no-rmv-interrupt",
		"--total-num-mbufs=16384", "--rxd=1024", "--txd=1024", NULL,
	};
	const char *seconds = getenv("DPDK_SECONDS");
	struct child *t = &self->testpmd;
	long pin_kb, lock_kb, rate;
	size_t from, stop;
	int i, status;
	bool started;
	const char *p;
	char saved;

	/* The main lcore and a forwarding one, on the last CPU. */
	snprintf(lcores, sizeof(lcores), "0@0,1@%ld",
		 sysconf(_SC_NPROCESSORS_ONLN) - 1);
	ASSERT_EQ(0, write_file(IOMMUFD_CONTAINER, iommufd ? "1" : "0"));
	ASSERT_EQ(0, child_start(t, argv, OUTPUT_SIZE, true));
	started = child_read(t, PROMPT, 0, START_MS);
	/* testpmd has opened /dev/vfio/vfio by now, or never will. */
	EXPECT_EQ(0, write_file(IOMMUFD_CONTAINER, "0"));
	ASSERT_TRUE(started)
		TH_LOG("testpmd said: %s", testpmd_tail(t, 4000));
	for (i = 0; i < 2; i++) {
		char name[16];

		snprintf(name, sizeof(name), "Port %d: ", i);
		p = strstr(t->buf, name);
		if (p)
			sscanf(p + strlen(name), "%17s", mac[i]);
		ASSERT_EQ(17, strlen(mac[i]))
			TH_LOG("testpmd said: %s", testpmd_tail(t, 4000));
	}

	/*
	 * Which provider holds the pins of testpmd's memory, at least a huge
	 * page of it: type1 charges them to locked_vm, iommufd counts them
	 * in pinned_vm (and charges root nothing), and without an IOMMU
	 * nothing is pinned. --no-mlockall keeps testpmd's own mlockall()
	 * out of VmLck.
	 */
	pin_kb = child_status_kb(t, "VmPin:");
	lock_kb = child_status_kb(t, "VmLck:");
	if (self->noiommu) {
		EXPECT_EQ(0, pin_kb);
		EXPECT_EQ(0, lock_kb);
	} else if (iommufd) {
		EXPECT_LE(2048, pin_kb);
		EXPECT_EQ(0, lock_kb);
	} else {
		EXPECT_LE(2048, lock_kb);
		EXPECT_EQ(0, pin_kb);
	}

	testpmd_do(_metadata, t, "set fwd rxonly");
	testpmd_do(_metadata, t, "set verbose 1");
	from = t->len;
	/*
	 * No prompt to wait for: testpmd writes it a character at a time,
	 * and the lines the rx lcore prints as it goes may come between.
	 * rxonly prints the packets as its lcore takes them, each a line
	 * "src=..." and a line "ol_flags: ...": a packet's first line is
	 * whole once its second begins.
	 */
	EXPECT_EQ(0, child_write(t, "start tx_first 16\n"));
	while (occurrences(t->buf + from, "ol_flags:") < 2 * PACKETS &&
	       child_read(t, "ol_flags:", t->len, 5000))
		;
	stop = t->len;
	testpmd_do(_metadata, t, "stop");
	testpmd_do(_metadata, t, "show port stats all");
	saved = t->buf[stop];
	t->buf[stop] = 0;
	check_packets(_metadata, t->buf + from, mac);
	t->buf[stop] = saved;
	check_counters(_metadata, t->buf + stop);

	rate = measure_rate(_metadata, t, seconds ? atoi(seconds) : 3);
	EXPECT_LT(0, rate)
		TH_LOG("testpmd said: %s", testpmd_tail(t, 6000));
	TH_LOG("dpdk %s %ld packets/s", provider, rate);

	/* No prompt follows "quit": testpmd closes the terminal instead. */
	EXPECT_EQ(0, child_write(t, "quit\n"));
	EXPECT_TRUE(child_read(t, NULL, 0, COMMAND_MS));
	status = child_end(t, 10000);
	EXPECT_NE(-1, status);
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* Both run on each machine: init's limit for the program is 900 s. */
TEST_F_TIMEOUT(dpdk, traffic, 400)
{
	const char *provider;

	/* 6.1's harness runs the test after a SKIP() in the set-up. */
	if (!self->nclaimed)
		SKIP(return, "not set up");
	if (self->noiommu)
		provider = variant->iommufd ? "noiommu-iommufd" : "noiommu-vfio";
	else
		provider = variant->iommufd ? "iommufd" : "type1";
	run_testpmd(_metadata, self, provider, variant->iommufd);
}

TEST_HARNESS_MAIN
