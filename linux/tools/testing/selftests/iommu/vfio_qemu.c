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
#include <signal.h>

#include "../kselftest_harness.h"
#include "vfio_edu_util.h"

#define QEMU		"qemu-system-x86_64"
#define GUEST_MIB	64
#define PROMPT		"(qemu) "
#define QEMU_TIMEOUT_MS	120000

/* Start QEMU with its monitor on its stdin and stdout, stopped (-S). */
static int qemu_start(struct child *q, const char *bdf)
{
	char device[64], mem[16];
	char *const argv[] = {
		QEMU, "-machine", "q35,accel=tcg", "-m", mem, "-nodefaults",
		"-display", "none", "-S", "-monitor", "stdio", "-device",
		device, NULL,
	};

	snprintf(device, sizeof(device), "vfio-pci,host=%s", bdf);
	snprintf(mem, sizeof(mem), "%dM", GUEST_MIB);
	return child_start(q, argv, 1 << 16, false);
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
	struct child q;
	int status;

	ASSERT_EQ(0, write_file(IOMMUFD_CONTAINER, iommufd ? "1" : "0"));
	ASSERT_EQ(0, qemu_start(&q, bdf));
	/*
	 * The monitor prompts before the machine is built; its answer to a
	 * command comes once the device is realized and the RAM mapped.
	 */
	EXPECT_TRUE(child_read(&q, PROMPT, 0, QEMU_TIMEOUT_MS))
		TH_LOG("QEMU said: %s", q.buf);
	EXPECT_EQ(0, child_write(&q, "info pci\n"));
	EXPECT_TRUE(child_read(&q, "PCI device 1234:11e8", 0, QEMU_TIMEOUT_MS))
		TH_LOG("QEMU said: %s", q.buf);
	/* QEMU has opened /dev/vfio/vfio by now. */
	ASSERT_EQ(0, write_file(IOMMUFD_CONTAINER, "0"));
	if (iommufd) {
		/* Root is not charged: only VmPin counts the pins. */
		EXPECT_LE(ram_kb, child_status_kb(&q, "VmPin:"));
		EXPECT_EQ(0, child_status_kb(&q, "VmLck:"));
	} else {
		EXPECT_LE(ram_kb, child_status_kb(&q, "VmLck:"));
		EXPECT_EQ(0, child_status_kb(&q, "VmPin:"));
	}

	EXPECT_EQ(0, child_write(&q, "quit\n"));
	EXPECT_TRUE(child_read(&q, NULL, 0, QEMU_TIMEOUT_MS));
	/* A QEMU that did not quit in time is a failure, not a hang. */
	status = child_end(&q, 10000);
	EXPECT_NE(-1, status);
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
