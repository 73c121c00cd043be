// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for how areas turn into IO page table entries, on a mock
 * domain (2 KiB IO pages) that belongs to no device: the arithmetic between
 * IOVAs and page indexes of an area that starts and ends inside a page, the
 * batching of physically contiguous PFNs into one map call, mapping an area
 * chunk by chunk, and the walk over adjacent areas that pins and copies use.
 *
 * The PFNs are made up: the mock only records them.
 */
#include <kunit/test.h>
#include <linux/sizes.h>

#include "io_pagetable.h"
#include "iommufd_private.h"
#include "iommufd_test.h"

#define TEST_IOVA (MOCK_APERTURE_START + SZ_1M)
#define TEST_OFFSET (PAGE_SIZE / 2)

/*
 * An area of 7 pages, index 3 to 9 of its iopt_pages, whose first and last
 * page are half used: it starts in the middle of index 3 at TEST_IOVA +
 * TEST_OFFSET and ends in the middle of index 9.
 */
struct pages_test {
	struct io_pagetable iopt;
	struct iopt_area area;
	struct iommu_domain *domain;
};

static int iommufd_pages_test_init(struct kunit *test)
{
	struct pages_test *t;

	t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, t);
	iopt_init_table(&t->iopt);
	t->area.iopt = &t->iopt;
	t->area.page_offset = TEST_OFFSET;
	t->area.iommu_prot = IOMMU_READ | IOMMU_WRITE;
	t->area.pages_node.start = 3;
	t->area.pages_node.last = 9;
	t->area.node.start = TEST_IOVA + TEST_OFFSET;
	t->area.node.last = TEST_IOVA + 6 * PAGE_SIZE + TEST_OFFSET - 1;
	t->domain = iommufd_test_mock_domain_alloc();
	KUNIT_ASSERT_NOT_NULL(test, t->domain);
	test->priv = t;
	return 0;
}

static void iommufd_pages_test_exit(struct kunit *test)
{
	struct pages_test *t = test->priv;

	iommu_domain_free(t->domain);
	iopt_destroy_table(&t->iopt);
}

/* Index and IOVA conversions at the partial first and last pages. */
static void iommufd_test_area_index_math(struct kunit *test)
{
	struct pages_test *t = test->priv;
	struct iopt_area *area = &t->area;
	unsigned long first = iopt_area_iova(area);

	KUNIT_EXPECT_EQ(test, iopt_area_length(area), 6 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, iopt_area_iova_to_index(area, first), 3);
	KUNIT_EXPECT_EQ(test,
			iopt_area_iova_to_index(area, TEST_IOVA + PAGE_SIZE - 1),
			3);
	KUNIT_EXPECT_EQ(test,
			iopt_area_iova_to_index(area, TEST_IOVA + PAGE_SIZE), 4);
	KUNIT_EXPECT_EQ(test,
			iopt_area_iova_to_index(area, iopt_area_last_iova(area)),
			9);

	/* The first page starts at the area, the others at a page. */
	KUNIT_EXPECT_EQ(test, iopt_area_index_to_iova(area, 3), first);
	KUNIT_EXPECT_EQ(test, iopt_area_index_to_iova(area, 4),
			TEST_IOVA + PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, iopt_area_index_to_last_iova(area, 3),
			TEST_IOVA + PAGE_SIZE - 1);
	KUNIT_EXPECT_EQ(test, iopt_area_index_to_last_iova(area, 9),
			iopt_area_last_iova(area));

	/* Bytes count from the start of the iopt_pages: index 0. */
	KUNIT_EXPECT_EQ(test, iopt_area_start_byte(area, first),
			3 * PAGE_SIZE + TEST_OFFSET);
	KUNIT_EXPECT_EQ(test, iopt_area_start_byte(area, TEST_IOVA + PAGE_SIZE),
			4 * PAGE_SIZE);
}

/* Every IO page of the area maps the right byte of its PFN. */
static void expect_mapped(struct kunit *test, const unsigned long *pfns)
{
	struct pages_test *t = test->priv;
	struct iopt_area *area = &t->area;
	unsigned long iova, map_calls;

	for (iova = iopt_area_iova(area); iova < iopt_area_last_iova(area);
	     iova += PAGE_SIZE / 2) {
		unsigned long i = iopt_area_iova_to_index(area, iova) - 3;

		KUNIT_EXPECT_EQ(test, iommu_iova_to_phys(t->domain, iova),
				PFN_PHYS(pfns[i]) + iova % PAGE_SIZE);
	}
	/* Nothing more: 6 pages of 2 IO pages each. */
	KUNIT_EXPECT_EQ(test,
			iommufd_test_mock_domain_count(t->domain, &map_calls),
			12);
}

static const unsigned long test_pfns[] = {
	0x1000, 0x1001, 0x1002, 0x1003,	/* one contiguous run, like a folio */
	0x2000, 0x2001,			/* another */
	0x1004,				/* contiguous in memory, not in order */
};

/* Contiguous PFNs are mapped in one call, unless large pages are off. */
static void iommufd_test_map_pfns_batches(struct kunit *test)
{
	struct pages_test *t = test->priv;
	unsigned long map_calls;

	KUNIT_ASSERT_EQ(test,
			iopt_area_map_pfns(&t->area, t->domain, 3, test_pfns,
					   ARRAY_SIZE(test_pfns)),
			0);
	expect_mapped(test, test_pfns);
	iommufd_test_mock_domain_count(t->domain, &map_calls);
	KUNIT_EXPECT_EQ(test, map_calls, 3);

	iopt_area_unmap_pfns(&t->area, t->domain, 3, ARRAY_SIZE(test_pfns));
	KUNIT_EXPECT_EQ(test,
			iommufd_test_mock_domain_count(t->domain, &map_calls),
			0);

	t->iopt.disable_large_pages = true;
	KUNIT_ASSERT_EQ(test,
			iopt_area_map_pfns(&t->area, t->domain, 3, test_pfns,
					   ARRAY_SIZE(test_pfns)),
			0);
	expect_mapped(test, test_pfns);
	iommufd_test_mock_domain_count(t->domain, &map_calls);
	KUNIT_EXPECT_EQ(test, map_calls, 3 + ARRAY_SIZE(test_pfns));
	iopt_area_unmap_pfns(&t->area, t->domain, 3, ARRAY_SIZE(test_pfns));
}

/*
 * Chunks in any order, cutting runs, give the same IO page table; a run
 * is never merged across a chunk boundary, so each chunk's IOVA range is
 * its own.
 */
static void iommufd_test_map_pfns_chunks(struct kunit *test)
{
	struct pages_test *t = test->priv;
	unsigned long map_calls;

	KUNIT_ASSERT_EQ(test,
			iopt_area_map_pfns(&t->area, t->domain, 5,
					   test_pfns + 2, 3),
			0);
	KUNIT_ASSERT_EQ(test,
			iopt_area_map_pfns(&t->area, t->domain, 9,
					   test_pfns + 6, 1),
			0);
	KUNIT_ASSERT_EQ(test,
			iopt_area_map_pfns(&t->area, t->domain, 3, test_pfns,
					   2),
			0);
	KUNIT_ASSERT_EQ(test,
			iopt_area_map_pfns(&t->area, t->domain, 8,
					   test_pfns + 5, 1),
			0);
	expect_mapped(test, test_pfns);
	iommufd_test_mock_domain_count(t->domain, &map_calls);
	/* 0x1000-1, 0x1002-3, 0x2000, 0x2001, 0x1004: one call each. */
	KUNIT_EXPECT_EQ(test, map_calls, 5);

	/* Unmapping in other chunks leaves nothing behind. */
	iopt_area_unmap_pfns(&t->area, t->domain, 3, 4);
	iopt_area_unmap_pfns(&t->area, t->domain, 7, 3);
	KUNIT_EXPECT_EQ(test,
			iommufd_test_mock_domain_count(t->domain, &map_calls),
			0);
}

/* Areas for the walk: A and B touch, a gap, then C. */
static void insert_area(struct pages_test *t, struct iopt_area *area,
			unsigned long start, unsigned long last)
{
	area->iopt = &t->iopt;
	/* The walk skips areas without pages; any non-NULL value will do. */
	area->pages = (struct iopt_pages *)&t->area;
	area->node.start = start;
	area->node.last = last;
	interval_tree_insert(&area->node, &t->iopt.area_itree);
}

static unsigned int walk(struct pages_test *t, unsigned long first,
			 unsigned long last, unsigned long *piece_last,
			 bool *done)
{
	struct iopt_area_walk walk;
	struct iopt_area *area;
	unsigned int pieces = 0;

	down_read(&t->iopt.iova_rwsem);
	for (area = iopt_area_walk_first(&walk, &t->iopt, first, last); area;
	     area = iopt_area_walk_next(&walk)) {
		piece_last[pieces++] = iopt_area_walk_piece_last(&walk);
		if (pieces == 4)
			break;
	}
	up_read(&t->iopt.iova_rwsem);
	*done = walk.done;
	return pieces;
}

static void iommufd_test_area_walk(struct kunit *test)
{
	struct pages_test *t = test->priv;
	struct iopt_area *areas;
	unsigned long piece_last[4];
	bool done;

	areas = kunit_kcalloc(test, 3, sizeof(*areas), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, areas);
	insert_area(t, &areas[0], 0x10000, 0x13fff);
	insert_area(t, &areas[1], 0x14000, 0x17fff);
	insert_area(t, &areas[2], 0x20000, 0x20fff);

	/* Inside one area. */
	KUNIT_EXPECT_EQ(test, walk(t, 0x10800, 0x10fff, piece_last, &done), 1);
	KUNIT_EXPECT_EQ(test, piece_last[0], 0x10fff);
	KUNIT_EXPECT_TRUE(test, done);

	/* Across two adjacent areas, ending exactly at the second's end. */
	KUNIT_EXPECT_EQ(test, walk(t, 0x11000, 0x17fff, piece_last, &done), 2);
	KUNIT_EXPECT_EQ(test, piece_last[0], 0x13fff);
	KUNIT_EXPECT_EQ(test, piece_last[1], 0x17fff);
	KUNIT_EXPECT_TRUE(test, done);

	/* Into the gap: the walk stops and says so. */
	KUNIT_EXPECT_EQ(test, walk(t, 0x11000, 0x18000, piece_last, &done), 2);
	KUNIT_EXPECT_FALSE(test, done);

	/* Starting in the gap or before everything. */
	KUNIT_EXPECT_EQ(test, walk(t, 0x18000, 0x20fff, piece_last, &done), 0);
	KUNIT_EXPECT_FALSE(test, done);
	KUNIT_EXPECT_EQ(test, walk(t, 0, 0x10fff, piece_last, &done), 0);
	KUNIT_EXPECT_FALSE(test, done);

	/* Up to the top of the address space without wrapping. */
	KUNIT_EXPECT_EQ(test, walk(t, 0x20000, ULONG_MAX, piece_last, &done),
			1);
	KUNIT_EXPECT_FALSE(test, done);

	down_write(&t->iopt.iova_rwsem);
	interval_tree_remove(&areas[0].node, &t->iopt.area_itree);
	interval_tree_remove(&areas[1].node, &t->iopt.area_itree);
	interval_tree_remove(&areas[2].node, &t->iopt.area_itree);
	up_write(&t->iopt.iova_rwsem);
}

static struct kunit_case iommufd_pages_test_cases[] = {
	KUNIT_CASE(iommufd_test_area_index_math),
	KUNIT_CASE(iommufd_test_map_pfns_batches),
	KUNIT_CASE(iommufd_test_map_pfns_chunks),
	KUNIT_CASE(iommufd_test_area_walk),
	{}
};

static struct kunit_suite iommufd_pages_test_suite = {
	.name = "iommufd_pages",
	.init = iommufd_pages_test_init,
	.exit = iommufd_pages_test_exit,
	.test_cases = iommufd_pages_test_cases,
};

kunit_test_suite(iommufd_pages_test_suite);
