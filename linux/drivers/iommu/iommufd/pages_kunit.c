// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for how areas turn into IO page table entries, on a mock
 * domain (2 KiB IO pages) that belongs to no device: the arithmetic between
 * IOVAs and page indexes of an area that starts and ends inside a page, the
 * batching of physically contiguous PFNs into one map call, mapping an area
 * chunk by chunk, reading PFNs back from the domain, the walk over adjacent
 * areas that pins and copies use, and the spans of pages with one kind of
 * user that pinning works by.
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
	iopt_init_table(&t->iopt, NULL);
	t->area.page_offset = TEST_OFFSET;
	t->area.iommu_prot = IOMMU_READ | IOMMU_WRITE;
	/* Its last index, 9, follows from the IOVA range. */
	t->area.pages_index = 3;
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

/* An area's last page index follows from its first, offset and length. */
static void iommufd_test_area_last_index(struct kunit *test)
{
	struct iopt_area area = {
		.node = { .start = TEST_IOVA, .last = TEST_IOVA },
		.pages_index = 7,
	};

	KUNIT_EXPECT_EQ(test, iopt_area_last_index(&area), 7);
	area.node.last = TEST_IOVA + PAGE_SIZE - 1;
	KUNIT_EXPECT_EQ(test, iopt_area_last_index(&area), 7);
	area.node.last = TEST_IOVA + PAGE_SIZE;
	KUNIT_EXPECT_EQ(test, iopt_area_last_index(&area), 8);
	area.page_offset = PAGE_SIZE - 1;
	area.node.last = TEST_IOVA;
	KUNIT_EXPECT_EQ(test, iopt_area_last_index(&area), 7);
	area.node.last = TEST_IOVA + 1;
	KUNIT_EXPECT_EQ(test, iopt_area_last_index(&area), 8);
}

/* Index and IOVA conversions at the partial first and last pages. */
static void iommufd_test_area_index_math(struct kunit *test)
{
	struct pages_test *t = test->priv;
	struct iopt_area *area = &t->area;
	unsigned long first = iopt_area_iova(area);

	KUNIT_EXPECT_EQ(test, iopt_area_length(area), 6 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, iopt_area_last_index(area), 9);
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
			iopt_area_map_pfns(&t->iopt, &t->area, t->domain, 3,
					   test_pfns, ARRAY_SIZE(test_pfns)),
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
			iopt_area_map_pfns(&t->iopt, &t->area, t->domain, 3,
					   test_pfns, ARRAY_SIZE(test_pfns)),
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
			iopt_area_map_pfns(&t->iopt, &t->area, t->domain, 5,
					   test_pfns + 2, 3),
			0);
	KUNIT_ASSERT_EQ(test,
			iopt_area_map_pfns(&t->iopt, &t->area, t->domain, 9,
					   test_pfns + 6, 1),
			0);
	KUNIT_ASSERT_EQ(test,
			iopt_area_map_pfns(&t->iopt, &t->area, t->domain, 3,
					   test_pfns, 2),
			0);
	KUNIT_ASSERT_EQ(test,
			iopt_area_map_pfns(&t->iopt, &t->area, t->domain, 8,
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

/*
 * iommu_iova_to_pfns() reads a run of pages back, the area's first page at
 * its offset too, and stops short at the first page that is not mapped.
 */
static void iommufd_test_read_pfns(struct kunit *test)
{
	struct pages_test *t = test->priv;
	unsigned long pfns[ARRAY_SIZE(test_pfns)] = {};
	unsigned long map_calls, i;

	KUNIT_ASSERT_EQ(test,
			iopt_area_map_pfns(&t->iopt, &t->area, t->domain, 3,
					   test_pfns, ARRAY_SIZE(test_pfns)),
			0);
	KUNIT_EXPECT_EQ(test,
			iommu_iova_to_pfns(t->domain, iopt_area_iova(&t->area),
					   1, pfns),
			1);
	KUNIT_EXPECT_EQ(test, pfns[0], test_pfns[0]);
	KUNIT_EXPECT_EQ(test,
			iommu_iova_to_pfns(t->domain,
					   iopt_area_index_to_iova(&t->area, 4),
					   6, pfns + 1),
			6);
	for (i = 0; i != ARRAY_SIZE(test_pfns); i++)
		KUNIT_EXPECT_EQ_MSG(test, pfns[i], test_pfns[i], "page %lu", i);

	/* A hole at index 6: the read from index 4 stops before it. */
	iopt_area_unmap_pfns(&t->area, t->domain, 6, 1);
	KUNIT_EXPECT_EQ(test,
			iommu_iova_to_pfns(t->domain,
					   iopt_area_index_to_iova(&t->area, 4),
					   6, pfns),
			2);
	iopt_area_unmap_pfns(&t->area, t->domain, 3, 3);
	iopt_area_unmap_pfns(&t->area, t->domain, 7, 3);
	KUNIT_EXPECT_EQ(test,
			iommufd_test_mock_domain_count(t->domain, &map_calls),
			0);
}

/* Areas for the walk: A and B touch, a gap, then C. */
static void insert_area(struct pages_test *t, struct iopt_area *area,
			unsigned long start, unsigned long last)
{
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

/* The span iopt_pages_span() is expected to find. */
struct expected_span {
	unsigned long start;
	unsigned long last;
	enum iopt_pages_span_user user;
	int area;	/* index into the test's areas, or -1 */
};

static void expect_spans(struct kunit *test, struct iopt_pages *pages,
			 struct iopt_area *areas, struct iopt_area *skip,
			 unsigned long first, unsigned long last,
			 const struct expected_span *want, unsigned int nwant)
{
	struct iopt_pages_span span;
	unsigned long index = first;
	unsigned int i = 0;

	mutex_lock(&pages->mutex);
	while (index <= last) {
		iopt_pages_span(pages, index, last, skip, &span);
		KUNIT_ASSERT_LT(test, i, nwant);
		KUNIT_EXPECT_EQ_MSG(test, index, want[i].start, "span %u", i);
		KUNIT_EXPECT_EQ_MSG(test, span.last, want[i].last, "span %u", i);
		KUNIT_EXPECT_EQ_MSG(test, span.user, want[i].user, "span %u", i);
		KUNIT_EXPECT_PTR_EQ_MSG(test, span.area,
					want[i].area < 0 ? NULL :
							   &areas[want[i].area],
					"span %u", i);
		index = span.last + 1;
		i++;
	}
	mutex_unlock(&pages->mutex);
	KUNIT_EXPECT_EQ(test, i, nwant);
}

/*
 * Spans over access ranges [10, 19], [15, 30] and [50, 50], and filled
 * areas 0: [0, 12], 1: [25, 60] and 2: [70, 80]: accesses win over
 * areas, overlapping ranges chain, and the skipped area counts as unused.
 */
static void iommufd_test_pages_spans(struct kunit *test)
{
	static const unsigned long access_ranges[][2] = {
		{ 10, 19 }, { 15, 30 }, { 50, 50 },
	};
	static const unsigned long area_ranges[][2] = {
		{ 0, 12 }, { 25, 60 }, { 70, 80 },
	};
	static const struct expected_span skip_2[] = {
		{ 0, 9, IOPT_SPAN_AREA, 0 },
		{ 10, 19, IOPT_SPAN_ACCESS, -1 },
		{ 20, 30, IOPT_SPAN_ACCESS, -1 },
		{ 31, 49, IOPT_SPAN_AREA, 1 },
		{ 50, 50, IOPT_SPAN_ACCESS, -1 },
		{ 51, 60, IOPT_SPAN_AREA, 1 },
		{ 61, 90, IOPT_SPAN_UNUSED, -1 },
	};
	static const struct expected_span all[] = {
		{ 55, 60, IOPT_SPAN_AREA, 1 },
		{ 61, 69, IOPT_SPAN_UNUSED, -1 },
		{ 70, 80, IOPT_SPAN_AREA, 2 },
		{ 81, 90, IOPT_SPAN_UNUSED, -1 },
	};
	static const struct expected_span one[] = {
		{ 5, 5, IOPT_SPAN_AREA, 0 },
	};
	struct iopt_pages_access *accesses;
	struct iopt_pages *pages;
	struct iopt_area *areas;
	unsigned int i;

	pages = kunit_kzalloc(test, sizeof(*pages), GFP_KERNEL);
	accesses = kunit_kcalloc(test, ARRAY_SIZE(access_ranges),
				 sizeof(*accesses), GFP_KERNEL);
	areas = kunit_kcalloc(test, ARRAY_SIZE(area_ranges), sizeof(*areas),
			      GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pages);
	KUNIT_ASSERT_NOT_NULL(test, accesses);
	KUNIT_ASSERT_NOT_NULL(test, areas);
	mutex_init(&pages->mutex);
	pages->access_itree = RB_ROOT_CACHED;
	pages->domains_itree = RB_ROOT_CACHED;
	for (i = 0; i != ARRAY_SIZE(access_ranges); i++) {
		accesses[i].node.start = access_ranges[i][0];
		accesses[i].node.last = access_ranges[i][1];
		interval_tree_insert(&accesses[i].node, &pages->access_itree);
	}
	for (i = 0; i != ARRAY_SIZE(area_ranges); i++) {
		/* The last index follows from the length of the IOVA range. */
		areas[i].pages_index = area_ranges[i][0];
		areas[i].node.last = (area_ranges[i][1] - area_ranges[i][0] +
				      1) * PAGE_SIZE - 1;
		iopt_filled_area_insert(&areas[i], &pages->domains_itree);
		KUNIT_ASSERT_EQ(test, iopt_area_last_index(&areas[i]),
				area_ranges[i][1]);
	}

	expect_spans(test, pages, areas, &areas[2], 0, 90, skip_2,
		     ARRAY_SIZE(skip_2));
	expect_spans(test, pages, areas, NULL, 55, 90, all, ARRAY_SIZE(all));
	expect_spans(test, pages, areas, NULL, 5, 5, one, ARRAY_SIZE(one));
	mutex_destroy(&pages->mutex);
}

static struct kunit_case iommufd_pages_test_cases[] = {
	KUNIT_CASE(iommufd_test_area_last_index),
	KUNIT_CASE(iommufd_test_area_index_math),
	KUNIT_CASE(iommufd_test_map_pfns_batches),
	KUNIT_CASE(iommufd_test_map_pfns_chunks),
	KUNIT_CASE(iommufd_test_read_pfns),
	KUNIT_CASE(iommufd_test_area_walk),
	KUNIT_CASE(iommufd_test_pages_spans),
	{}
};

static struct kunit_suite iommufd_pages_test_suite = {
	.name = "iommufd_pages",
	.init = iommufd_pages_test_init,
	.exit = iommufd_pages_test_exit,
	.test_cases = iommufd_pages_test_cases,
};

kunit_test_suite(iommufd_pages_test_suite);
