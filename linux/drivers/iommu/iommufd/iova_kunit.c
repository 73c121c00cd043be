// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for the IOVA allocator of the io_pagetable: alignment, the
 * ends of the address space, allowed and reserved ranges, exhaustion.
 * Reserved ranges stand in for mapped areas: the allocator avoids both in
 * the same way.
 */
#include <kunit/test.h>
#include <linux/sizes.h>

#include "io_pagetable.h"
#include "iommufd_private.h"

static int iommufd_iova_test_init(struct kunit *test)
{
	struct io_pagetable *iopt;

	iopt = kunit_kzalloc(test, sizeof(*iopt), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, iopt);
	iopt_init_table(iopt, NULL);
	test->priv = iopt;
	return 0;
}

static void iommufd_iova_test_exit(struct kunit *test)
{
	iopt_destroy_table(test->priv);
}

static void reserve(struct kunit *test, unsigned long start,
		    unsigned long last)
{
	struct io_pagetable *iopt = test->priv;
	int rc;

	down_write(&iopt->iova_rwsem);
	rc = iopt_reserve_iova(iopt, start, last, test);
	up_write(&iopt->iova_rwsem);
	KUNIT_ASSERT_EQ(test, rc, 0);
}

static int alloc(struct kunit *test, unsigned long uptr, unsigned long length,
		 unsigned long *iova)
{
	struct io_pagetable *iopt = test->priv;
	int rc;

	*iova = 0xdead;
	down_read(&iopt->iova_rwsem);
	rc = iopt_alloc_iova(iopt, iova, uptr, length);
	up_read(&iopt->iova_rwsem);
	return rc;
}

/* The lowest free IOVA is used, but never page 0. */
static void iommufd_test_iova_lowest(struct kunit *test)
{
	unsigned long iova;

	KUNIT_ASSERT_EQ(test, alloc(test, 0, 1, &iova), 0);
	KUNIT_EXPECT_EQ(test, iova, PAGE_SIZE);
	KUNIT_ASSERT_EQ(test, alloc(test, 0, PAGE_SIZE, &iova), 0);
	KUNIT_EXPECT_EQ(test, iova, PAGE_SIZE);

	reserve(test, PAGE_SIZE, 3 * PAGE_SIZE - 1);
	KUNIT_ASSERT_EQ(test, alloc(test, 0, PAGE_SIZE, &iova), 0);
	KUNIT_EXPECT_EQ(test, iova, 3 * PAGE_SIZE);
}

/* IOVAs are aligned to the length, up to 2 MiB, and to no more than uptr. */
static void iommufd_test_iova_alignment(struct kunit *test)
{
	static const unsigned long lengths[] = {
		PAGE_SIZE, 2 * PAGE_SIZE, 3 * PAGE_SIZE, SZ_64K + 1, SZ_1M,
		SZ_2M, SZ_2M + PAGE_SIZE, SZ_1G,
	};
	unsigned long iova, want;
	unsigned int i;

	/* Leave an odd gap at the bottom so alignment has to skip it. */
	reserve(test, PAGE_SIZE, 5 * PAGE_SIZE - 1);
	for (i = 0; i != ARRAY_SIZE(lengths); i++) {
		want = min_t(unsigned long, roundup_pow_of_two(lengths[i]),
			     SZ_2M);
		KUNIT_ASSERT_EQ(test, alloc(test, 0, lengths[i], &iova), 0);
		KUNIT_EXPECT_EQ_MSG(test, iova % want, 0, "length %lu",
				    lengths[i]);
		KUNIT_EXPECT_GE(test, iova, 5 * PAGE_SIZE);

		/* A user pointer aligned to less lowers the alignment. */
		KUNIT_ASSERT_EQ(test, alloc(test, 0x10000 + PAGE_SIZE,
					    lengths[i], &iova), 0);
		KUNIT_EXPECT_EQ(test, iova % PAGE_SIZE, 0);
		KUNIT_EXPECT_EQ(test, iova, 5 * PAGE_SIZE);
	}

	/* Sub-page user pointers: only their own alignment is kept. */
	KUNIT_ASSERT_EQ(test, alloc(test, 0x10010, SZ_64K, &iova), 0);
	KUNIT_EXPECT_EQ(test, iova, 5 * PAGE_SIZE);
}

/* Near the top of the address space nothing wraps around. */
static void iommufd_test_iova_top(struct kunit *test)
{
	unsigned long top_page = ULONG_MAX - 2 * PAGE_SIZE + 1;
	unsigned long iova;

	/* Only one page is left: the one below the (excluded) last page. */
	reserve(test, 0, top_page - 1);
	KUNIT_ASSERT_EQ(test, alloc(test, 0, PAGE_SIZE, &iova), 0);
	KUNIT_EXPECT_EQ(test, iova, top_page);
	KUNIT_EXPECT_EQ(test, alloc(test, 0, 2 * PAGE_SIZE, &iova), -ENOSPC);
	/* An alignment that rounds past ULONG_MAX finds nothing. */
	KUNIT_EXPECT_EQ(test, alloc(test, 0, SZ_2M, &iova), -ENOSPC);
	KUNIT_EXPECT_EQ(test, alloc(test, 0, PAGE_SIZE + 1, &iova), -ENOSPC);

	reserve(test, top_page, ULONG_MAX - PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, alloc(test, 0, 1, &iova), -ENOSPC);
}

static void iommufd_test_iova_lengths(struct kunit *test)
{
	unsigned long iova;

	KUNIT_EXPECT_EQ(test, alloc(test, 0, 0, &iova), -EOVERFLOW);
	KUNIT_EXPECT_EQ(test, alloc(test, 0, ULONG_MAX, &iova), -EOVERFLOW);
	KUNIT_EXPECT_EQ(test, alloc(test, 0, ULONG_MAX - 2 * PAGE_SIZE + 1,
				    &iova), -EOVERFLOW);
	/* Half the space or more, as upstream. */
	KUNIT_EXPECT_EQ(test, alloc(test, 0, ULONG_MAX / 2, &iova), -EOVERFLOW);
	/* The largest length it takes. */
	KUNIT_EXPECT_EQ(test, alloc(test, 0, ULONG_MAX / 2 - 1, &iova), 0);
	KUNIT_EXPECT_EQ(test, iova, SZ_2M);
}

/* With allowed ranges, IOVAs come only from them, lowest first. */
static void iommufd_test_iova_allowed(struct kunit *test)
{
	struct io_pagetable *iopt = test->priv;
	struct rb_root_cached allowed = RB_ROOT_CACHED;
	struct iopt_allowed ranges[2] = {
		{ .node = { .start = 100 * PAGE_SIZE, .last = 103 * PAGE_SIZE - 1 } },
		{ .node = { .start = 200 * PAGE_SIZE, .last = 300 * PAGE_SIZE - 1 } },
	};
	unsigned long iova;

	interval_tree_insert(&ranges[0].node, &allowed);
	interval_tree_insert(&ranges[1].node, &allowed);
	KUNIT_ASSERT_EQ(test, iopt_set_allow_iova(iopt, &allowed), 0);
	KUNIT_EXPECT_TRUE(test, RB_EMPTY_ROOT(&allowed.rb_root));

	KUNIT_ASSERT_EQ(test, alloc(test, 0, PAGE_SIZE, &iova), 0);
	KUNIT_EXPECT_EQ(test, iova, 100 * PAGE_SIZE);
	KUNIT_ASSERT_EQ(test, alloc(test, 0, 3 * PAGE_SIZE, &iova), 0);
	KUNIT_EXPECT_EQ(test, iova, 100 * PAGE_SIZE);
	/* Four pages do not fit in the first range, three pages long. */
	KUNIT_ASSERT_EQ(test, alloc(test, 0, 4 * PAGE_SIZE, &iova), 0);
	KUNIT_EXPECT_EQ(test, iova, 200 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, alloc(test, 0, 101 * PAGE_SIZE, &iova), -ENOSPC);

	/* Reserving inside an allowed range is refused. */
	down_write(&iopt->iova_rwsem);
	KUNIT_EXPECT_EQ(test, iopt_reserve_iova(iopt, 250 * PAGE_SIZE,
						250 * PAGE_SIZE, test),
			-EADDRINUSE);
	up_write(&iopt->iova_rwsem);

	/* Swap the list back out so the ranges on this stack are not freed. */
	KUNIT_ASSERT_EQ(test, iopt_set_allow_iova(iopt, &allowed), 0);
	KUNIT_EXPECT_FALSE(test, RB_EMPTY_ROOT(&allowed.rb_root));
}

/* Allocation must respect the table's alignment. */
static void iommufd_test_iova_table_alignment(struct kunit *test)
{
	struct io_pagetable *iopt = test->priv;
	unsigned long iova;

	iopt->iova_alignment = 2 * PAGE_SIZE;
	KUNIT_EXPECT_EQ(test, alloc(test, 0, PAGE_SIZE, &iova), -EINVAL);
	KUNIT_EXPECT_EQ(test, alloc(test, PAGE_SIZE, 4 * PAGE_SIZE, &iova),
			-EINVAL);
	KUNIT_ASSERT_EQ(test, alloc(test, 0, 2 * PAGE_SIZE, &iova), 0);
	KUNIT_EXPECT_EQ(test, iova % (2 * PAGE_SIZE), 0);
}

static struct kunit_case iommufd_iova_test_cases[] = {
	KUNIT_CASE(iommufd_test_iova_lowest),
	KUNIT_CASE(iommufd_test_iova_alignment),
	KUNIT_CASE(iommufd_test_iova_top),
	KUNIT_CASE(iommufd_test_iova_lengths),
	KUNIT_CASE(iommufd_test_iova_allowed),
	KUNIT_CASE(iommufd_test_iova_table_alignment),
	{}
};

static struct kunit_suite iommufd_iova_test_suite = {
	.name = "iommufd_iova",
	.init = iommufd_iova_test_init,
	.exit = iommufd_iova_test_exit,
	.test_cases = iommufd_iova_test_cases,
};

kunit_test_suites(&iommufd_iova_test_suite);
