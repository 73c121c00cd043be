// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of the /dev/iommu uAPI: the object table and the ioctl rules that
 * every command shares.
 *
 * Object IDs are handed out lowest-free-first, so "the next IOAS gets the
 * ID we expect" proves that a failed call left no object or reserved ID
 * behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/iommufd.h>

#include "../kselftest_harness.h"

/* The call must fail with exactly this errno. */
#define EXPECT_ERRNO(expected, cmd)                                            \
	do {                                                                   \
		ASSERT_EQ(-1, cmd);                                            \
		EXPECT_EQ(expected, errno);                                    \
	} while (0)

static int ioas_alloc(int fd, uint32_t *id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	int rc;

	rc = ioctl(fd, IOMMU_IOAS_ALLOC, &cmd);
	if (!rc)
		*id = cmd.out_ioas_id;
	return rc;
}

static int destroy(int fd, uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return ioctl(fd, IOMMU_DESTROY, &cmd);
}

/* Expect that the next object created in fd gets the ID want, then drop it. */
static void expect_next_id(struct __test_metadata *_metadata, int fd,
			   uint32_t want)
{
	uint32_t id;

	ASSERT_EQ(0, ioas_alloc(fd, &id));
	EXPECT_EQ(want, id);
	ASSERT_EQ(0, destroy(fd, id));
}

#define EXPECT_NEXT_ID(fd, want) expect_next_id(_metadata, fd, want)

TEST(dev_iommu_node)
{
	struct stat st;

	ASSERT_EQ(0, stat("/dev/iommu", &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(10, major(st.st_rdev));	/* a misc device */
	EXPECT_EQ(0660, st.st_mode & 0777);
}

FIXTURE(iommufd)
{
	int fd;
};

FIXTURE_SETUP(iommufd)
{
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(iommufd)
{
	close(self->fd);
}

TEST_F(iommufd, ioas_alloc_destroy)
{
	uint32_t first, second;

	ASSERT_EQ(0, ioas_alloc(self->fd, &first));
	ASSERT_EQ(0, ioas_alloc(self->fd, &second));
	EXPECT_NE(0, first);
	EXPECT_NE(first, second);

	EXPECT_EQ(0, destroy(self->fd, first));
	EXPECT_ERRNO(ENOENT, destroy(self->fd, first));
	EXPECT_EQ(0, destroy(self->fd, second));
	EXPECT_ERRNO(ENOENT, destroy(self->fd, second));
	/* Both IDs are free again: the table is empty. */
	EXPECT_NEXT_ID(self->fd, first);
}

TEST_F(iommufd, destroy_unknown_ids)
{
	static const uint32_t ids[] = { 0, 1, 2, 1000, 1u << 31, UINT32_MAX };
	uint32_t id;
	unsigned int i;

	ASSERT_EQ(0, ioas_alloc(self->fd, &id));
	for (i = 0; i != ARRAY_SIZE(ids); i++) {
		if (ids[i] == id)
			continue;
		EXPECT_ERRNO(ENOENT, destroy(self->fd, ids[i]));
	}
	/* The one real object survived all of that. */
	EXPECT_EQ(0, destroy(self->fd, id));
}

/* Objects of one file are invisible through another. */
TEST_F(iommufd, contexts_are_separate)
{
	int other = open("/dev/iommu", O_RDWR);
	uint32_t id, other_id;

	ASSERT_LE(0, other);
	ASSERT_EQ(0, ioas_alloc(self->fd, &id));
	EXPECT_ERRNO(ENOENT, destroy(other, id));
	ASSERT_EQ(0, ioas_alloc(other, &other_id));
	EXPECT_EQ(id, other_id);
	EXPECT_EQ(0, destroy(self->fd, id));
	EXPECT_EQ(0, destroy(other, other_id));
	close(other);
}

/* Closing a file with live objects frees them (kmemleak checks the rest). */
TEST_F(iommufd, close_with_objects)
{
	int other = open("/dev/iommu", O_RDWR);
	uint32_t id;
	int i;

	ASSERT_LE(0, other);
	for (i = 0; i != 100; i++)
		ASSERT_EQ(0, ioas_alloc(other, &id));
	EXPECT_EQ(100, id);
	EXPECT_EQ(0, close(other));
}

TEST_F(iommufd, unknown_ioctls)
{
	uint64_t buf[8] = { sizeof(buf) };

	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IO(IOMMUFD_TYPE, 0x7f), buf));
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IO(IOMMUFD_TYPE, 0xff), buf));
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IO(IOMMUFD_TYPE, 0), buf));
	/* The right number with another type or a direction is another ioctl. */
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IO('x', IOMMUFD_CMD_IOAS_ALLOC),
				   buf));
	EXPECT_ERRNO(ENOTTY,
		     ioctl(self->fd,
			   _IOWR(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOC,
				 struct iommu_ioas_alloc),
			   buf));
	EXPECT_NEXT_ID(self->fd, 1);
}

/* A size below the last member the kernel needs is EINVAL. */
TEST_F(iommufd, size_too_small)
{
	struct iommu_ioas_alloc alloc = {};
	struct iommu_destroy destroy_cmd = {};
	uint32_t size;

	for (size = 0; size < sizeof(alloc); size++) {
		alloc.size = size;
		EXPECT_ERRNO(EINVAL, ioctl(self->fd, IOMMU_IOAS_ALLOC, &alloc));
	}
	for (size = 0; size < sizeof(destroy_cmd); size++) {
		destroy_cmd.size = size;
		EXPECT_ERRNO(EINVAL,
			     ioctl(self->fd, IOMMU_DESTROY, &destroy_cmd));
	}
	EXPECT_NEXT_ID(self->fd, 1);
}

/*
 * A structure larger than the kernel's works while the extra bytes are
 * zero and fails with E2BIG, creating nothing, when any of them is not.
 */
TEST_F(iommufd, size_too_big)
{
	struct {
		struct iommu_ioas_alloc cmd;
		uint8_t extra[64];
	} big = {};
	unsigned int i;

	big.cmd.size = sizeof(big);
	ASSERT_EQ(0, ioctl(self->fd, IOMMU_IOAS_ALLOC, &big));
	EXPECT_EQ(1, big.cmd.out_ioas_id);

	for (i = 0; i != sizeof(big.extra); i++) {
		memset(big.extra, 0, sizeof(big.extra));
		big.extra[i] = 1;
		big.cmd.out_ioas_id = 0;
		EXPECT_ERRNO(E2BIG, ioctl(self->fd, IOMMU_IOAS_ALLOC, &big));
		EXPECT_EQ(0, big.cmd.out_ioas_id);
	}
	EXPECT_NEXT_ID(self->fd, 2);
}

TEST_F(iommufd, ioas_alloc_flags)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	unsigned int bit;

	for (bit = 0; bit != 32; bit++) {
		cmd.flags = 1u << bit;
		EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_IOAS_ALLOC, &cmd));
	}
	EXPECT_NEXT_ID(self->fd, 1);
}

/* Output is copied for at most the size userspace gave. */
TEST_F(iommufd, output_respects_size)
{
	struct {
		struct iommu_ioas_alloc cmd;
		uint32_t canary;
	} buf = { .cmd = { .size = sizeof(buf.cmd) }, .canary = 0 };

	ASSERT_EQ(0, ioctl(self->fd, IOMMU_IOAS_ALLOC, &buf));
	EXPECT_EQ(1, buf.cmd.out_ioas_id);
	EXPECT_EQ(0, buf.canary);
	EXPECT_EQ(sizeof(buf.cmd), buf.cmd.size);
}

TEST_F(iommufd, bad_pointers)
{
	struct iommu_ioas_alloc *ro;

	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IOMMU_IOAS_ALLOC, NULL));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IOMMU_DESTROY, (void *)8));

	/*
	 * Readable but not writable: the kernel reads the request, creates
	 * the IOAS, then cannot write out_ioas_id back and must undo it.
	 */
	ro = mmap(NULL, getpagesize(), PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	ro->size = sizeof(*ro);
	ASSERT_EQ(0, mprotect(ro, getpagesize(), PROT_READ));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IOMMU_IOAS_ALLOC, ro));
	munmap(ro, getpagesize());
	EXPECT_NEXT_ID(self->fd, 1);
}

TEST_HARNESS_MAIN
