// SPDX-License-Identifier: GPL-2.0
/*
 * The guest half of 'make bench': VFIO type1 against iommufd on the same
 * kernel, the same boot, the same edu device and the same memory.
 *
 *	bench [REPS [WORKLOAD...]]
 *
 * REPS (default 5, or bench.reps=N on the kernel command line, which a REPS
 * of 0 keeps) is how many times each measurement is taken (at most 3 for
 * resident); WORKLOAD narrows the run to some of 4k, thp, hugetlb, churn,
 * resident, copy, mock, domains, ioas and devices. Each repetition sets a backend up, times only
 * its ioctls with CLOCK_MONOTONIC, and tears it down; the backend that goes
 * first alternates from one repetition to the next.
 *
 * stdout has one line per measured row, for the host to parse:
 *
 *	bench <row> <unit> type1 <median> <min> <max> iommufd <median> <min> <max>
 *		[ratio <paired ratio>]
 *
 * and context lines starting with '#'. In the mock rows the type1 column
 * is a bare pin_user_pages() loop (debugfs iommufd/bench_pin). Progress and
 * errors go to stderr; any failed step ends the run with exit status 1.
 *
 * With BENCH_BACKEND=type1 or iommufd in the environment only that column
 * runs (the mock rows then run their bare or their mock half), and no
 * "bench" line is printed: that is for taking a profile of one backend.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

/* From tools/testing/selftests/iommu/ and drivers/iommu/iommufd/. */
#include "vfio_edu_util.h"
#include "iommufd_test.h"

#define KIB		1024UL
#define MIB		(1024 * KIB)
#define GIB		(1024 * MIB)
#define PAGE		(4 * KIB)
#define HPAGE		(2 * MIB)

#define BIG_LEN		GIB		/* the map/unmap, copy and mock size */
#define BIG_IOVA	GIB		/* inside VT-d's and the mock's aperture */
#define CHURN_LEN	(16 * MIB)	/* the churn cycles through this */
#define CHURN_PAIRS	4096
#define MAX_REPS	99
#define DPDK_SECONDS	5	/* of io forwarding a run */
#define RES_IOVA	(4 * GIB)	/* resident mappings, a hole apart */
#define RES_LEN		(16 * MIB)	/* the pages they cycle through */
#define RES_REPS	3		/* 10^6 maps a backend a repetition */
#define DMA_ENTRY_LIMIT	"/sys/module/vfio_iommu_type1/parameters/dma_entry_limit"
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define THP_ENABLED	"/sys/kernel/mm/transparent_hugepage/enabled"
#define BENCH_PIN	"/sys/kernel/debug/iommufd/bench_pin"
#define BENCH_DEVICES	"/sys/kernel/debug/iommufd/bench_devices"

/* The two columns: VFIO type1 (or the bare pin loop) and iommufd. */
enum { T1, FD, NR_COLS };
static const char *const col_name[NR_COLS] = { "type1", "iommufd" };

struct row {
	const char *id, *unit, *what;
	double val[NR_COLS][MAX_REPS];
	int n[NR_COLS];
	double paired;	/* median of paired iommufd/type1 ratios, if any */
	bool fd_only;	/* type1 has nothing alike: its column is "-" */
};

enum {
	MAP_4K, UNMAP_4K, MAP_THP, UNMAP_THP, MAP_HUGE, UNMAP_HUGE,
	CHURN, RES_1E2, RES_1E3, RES_1E4, RES_1E5, RES_1E6, RES_GROWTH,
	COPY_MAP, COPY_UNMAP, MOCK_MAP, MOCK_UNMAP,
	DOM_1, DOM_2, DOM_4, DOM_8, DOM_16, DOM_32, DOM_FILL, DOM_MARGINAL,
	IOAS_CREATE, IOAS_MAP_FILE, IOAS_CHANGE, IOAS_DESTROY, DPDK_IO,
	MEM_4K, MEM_THP, MEM_HUGE, MEM_RES, SLAB_4K, SLAB_THP, SLAB_HUGE,
	SLAB_RES, SLAB_IOAS, SLAB_DEV_ALONE, SLAB_DEV_BOUND, SLAB_DEV,
	NR_ROWS
};

static struct row rows[NR_ROWS] = {
	[MAP_4K] = { "map-4k", "ms", "map 1 GiB, 4 KiB pages" },
	[UNMAP_4K] = { "unmap-4k", "ms", "unmap 1 GiB, 4 KiB pages" },
	[MAP_THP] = { "map-thp", "ms", "map 1 GiB, THP" },
	[UNMAP_THP] = { "unmap-thp", "ms", "unmap 1 GiB, THP" },
	[MAP_HUGE] = { "map-hugetlb", "ms", "map 1 GiB, hugetlbfs 2 MiB" },
	[UNMAP_HUGE] = { "unmap-hugetlb", "ms", "unmap 1 GiB, hugetlbfs 2 MiB" },
	[CHURN] = { "churn-4k", "us", "map+unmap one 4 KiB page (per pair)" },
	[RES_1E2] = { "churn-res-100", "us",
		      "map+unmap one 4 KiB page, 10^2 mappings resident" },
	[RES_1E3] = { "churn-res-1000", "us",
		      "map+unmap one 4 KiB page, 10^3 mappings resident" },
	[RES_1E4] = { "churn-res-10000", "us",
		      "map+unmap one 4 KiB page, 10^4 mappings resident" },
	[RES_1E5] = { "churn-res-100000", "us",
		      "map+unmap one 4 KiB page, 10^5 mappings resident" },
	[RES_1E6] = { "churn-res-1000000", "us",
		      "map+unmap one 4 KiB page, 10^6 mappings resident" },
	[RES_GROWTH] = { "churn-res-growth", "x",
			 "churn with 10^6 resident / with 10^2, each backend" },
	[COPY_MAP] = { "copy-map", "ms",
		       "1 GiB into a 2nd device's space (type1 map, IOAS_COPY)" },
	[COPY_UNMAP] = { "copy-unmap", "ms", "unmap the copied 1 GiB" },
	[MOCK_MAP] = { "mock-map", "ms",
		       "mock domain map 1 GiB vs bare pin_user_pages" },
	[MOCK_UNMAP] = { "mock-unmap", "ms",
			 "mock domain unmap 1 GiB vs bare unpin_user_pages" },
	[DOM_1] = { "domains-1", "ms", "map 1 GiB into 1 mock page table" },
	[DOM_2] = { "domains-2", "ms", "map 1 GiB into 2 mock page tables" },
	[DOM_4] = { "domains-4", "ms", "map 1 GiB into 4 mock page tables" },
	[DOM_8] = { "domains-8", "ms", "map 1 GiB into 8 mock page tables" },
	[DOM_16] = { "domains-16", "ms", "map 1 GiB into 16 mock page tables" },
	[DOM_32] = { "domains-32", "ms", "map 1 GiB into 32 mock page tables" },
	[DOM_FILL] = { "domains-fill", "ms",
		       "fill a new page table from a mapped 1 GiB (IOMMU_HWPT_ALLOC)",
		       .fd_only = true },
	[DOM_MARGINAL] = { "domains-marginal", "x",
			   "each page table more (slope over 1..32) / a fill",
			   .fd_only = true },
	[IOAS_CREATE] = { "ioas-create", "us",
			  "create one of 10^4 IOASes (iommufd only)", .fd_only = true },
	[IOAS_MAP_FILE] = { "ioas-map-file", "us",
			    "map one memfd page into each, unpinned (iommufd only)", .fd_only = true },
	[IOAS_CHANGE] = { "ioas-change-process", "ms",
			  "CHANGE_PROCESS across the 10^4 (iommufd only)", .fd_only = true },
	[IOAS_DESTROY] = { "ioas-destroy", "us",
			   "destroy one of the 10^4, mapped (iommufd only)", .fd_only = true },
	[DPDK_IO] = { "dpdk-io", "ns",
		      "DPDK testpmd, io forwarding between two e1000e (per packet)" },
	[MEM_4K] = { "mem-4k", "KiB/GiB", "kernel memory (free memory drop), 4 KiB" },
	[MEM_THP] = { "mem-thp", "KiB/GiB", "kernel memory (free memory drop), THP" },
	[MEM_HUGE] = { "mem-hugetlb", "KiB/GiB",
		       "kernel memory (free memory drop), hugetlbfs" },
	[MEM_RES] = { "mem-res", "B",
		      "kernel memory per resident 4 KiB mapping (free memory drop)" },
	[SLAB_4K] = { "slab-4k", "KiB/GiB", "Slab growth, 4 KiB" },
	[SLAB_THP] = { "slab-thp", "KiB/GiB", "Slab growth, THP" },
	[SLAB_HUGE] = { "slab-hugetlb", "KiB/GiB", "Slab growth, hugetlbfs" },
	[SLAB_RES] = { "slab-res", "B",
		       "Slab growth per resident 4 KiB mapping" },
	[SLAB_IOAS] = { "slab-ioas", "B",
			"Slab growth per empty IOAS (iommufd only)", .fd_only = true },
	[SLAB_DEV_ALONE] = { "slab-device-alone", "B",
			     "Slab growth per mock device, unbound (iommufd only)",
			     .fd_only = true },
	[SLAB_DEV_BOUND] = { "slab-device-bound", "B",
			     "Slab growth per mock device, bound and attached (iommufd only)",
			     .fd_only = true },
	[SLAB_DEV] = { "slab-device", "B",
		       "Slab growth per bound device, binding's part (iommufd only)",
		       .fd_only = true },
};

static int reps = 5;
static int only_col = -1;	/* BENCH_BACKEND: the one column to run */
static char edu_bdf[2][NAME_LEN];
static bool edu_claimed[2];

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "bench: ERROR: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	printf("# ERROR: the run failed; see the console\n");
	exit(1);
}

/* Die with @what and errno's text if @rc (ioctl style: -1 and errno) is set. */
static void check(int rc, const char *what)
{
	if (rc)
		die("%s: %s", what, strerror(errno));
}

/* The same for helpers that return 0 or a negative errno. */
static void check_neg(int rc, const char *what)
{
	if (rc < 0)
		die("%s: %s", what, strerror(-rc));
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/*
 * The /proc/meminfo fields we watch and the free memory, in kB. Free is
 * MemFree plus the pages on the per-CPU free lists, which MemFree leaves
 * out: a page table page that one set-up frees and the next allocates
 * sits on such a list in between, and would never show in MemFree.
 */
struct meminfo {
	long free, slab, anon_huge, huge_total, huge_free;
};

/* The zones' free pages and per-CPU free lists, in kB, from zoneinfo. */
static long zone_free_kb(void)
{
	char line[256], word[32];
	long pages = 0, val;
	FILE *f;

	f = fopen("/proc/zoneinfo", "r");
	if (!f)
		die("/proc/zoneinfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " pages free %ld", &val) == 1 ||
		    (sscanf(line, " %31s %ld", word, &val) == 2 &&
		     !strcmp(word, "count:")))
			pages += val;
	}
	fclose(f);
	return pages * (sysconf(_SC_PAGESIZE) / KIB);
}

static void meminfo_read(struct meminfo *mi)
{
	static const struct {
		const char *name;
		size_t offset;
	} fields[] = {
		{ "Slab:", offsetof(struct meminfo, slab) },
		{ "AnonHugePages:", offsetof(struct meminfo, anon_huge) },
		{ "HugePages_Total:", offsetof(struct meminfo, huge_total) },
		{ "HugePages_Free:", offsetof(struct meminfo, huge_free) },
	};
	char line[256];
	unsigned int i;
	FILE *f;
	int rc;

	memset(mi, 0, sizeof(*mi));
	/* Fold the per-CPU counter deltas in first, so the counts are exact. */
	rc = write_file("/proc/sys/vm/stat_refresh", "1");
	if (rc)
		die("/proc/sys/vm/stat_refresh: %s", strerror(-rc));
	mi->free = zone_free_kb();
	f = fopen("/proc/meminfo", "r");
	if (!f)
		die("/proc/meminfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
			size_t len = strlen(fields[i].name);

			if (!strncmp(line, fields[i].name, len))
				*(long *)((char *)mi + fields[i].offset) =
					strtol(line + len, NULL, 10);
		}
	}
	fclose(f);
}

/*
 * The backends. A context is one set-up: type1 has a container and a
 * group per device, iommufd one /dev/iommu with an IOAS and a bound,
 * attached device cdev per device ("space" 0 and 1).
 */
struct ctx {
	int fd[2];		/* containers, or the iommufd in fd[0] */
	int dev[2];		/* groups, or device cdevs */
	uint32_t ioas[2];
	uint32_t mock_idev;	/* the mock device of mock_open() */
};

struct backend {
	const char *name;
	/* Set up spaces for the edus first, ..., first + ndev - 1. */
	void (*open)(struct ctx *c, int first, int ndev);
	int (*map)(struct ctx *c, int space, void *buf, size_t len,
		   uint64_t iova);
	int (*unmap)(struct ctx *c, int space, uint64_t iova, size_t len);
	/* Make space 1 map what space 0 maps at @iova, as the other does. */
	int (*copy)(struct ctx *c, void *buf, size_t len, uint64_t iova);
	void (*close)(struct ctx *c);
};

static void ctx_init(struct ctx *c)
{
	memset(c, 0, sizeof(*c));
	c->fd[0] = c->fd[1] = c->dev[0] = c->dev[1] = -1;
}

static void ctx_close(struct ctx *c)
{
	int i;

	/* Devices first: a group or cdev holds its container or iommufd. */
	for (i = 0; i < 2; i++) {
		if (c->dev[i] >= 0)
			close(c->dev[i]);
	}
	for (i = 0; i < 2; i++) {
		if (c->fd[i] >= 0)
			close(c->fd[i]);
	}
}

static void type1_open(struct ctx *c, int first, int ndev)
{
	int i;

	ctx_init(c);
	for (i = 0; i < ndev; i++) {
		c->fd[i] = open("/dev/vfio/vfio", O_RDWR);
		check(c->fd[i] < 0, "open /dev/vfio/vfio");
		c->dev[i] = vfio_group_open(edu_bdf[first + i]);
		check_neg(c->dev[i], "open the VFIO group of the edu");
		check(ioctl(c->dev[i], VFIO_GROUP_SET_CONTAINER, &c->fd[i]),
		      "VFIO_GROUP_SET_CONTAINER");
		check(ioctl(c->fd[i], VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU),
		      "VFIO_SET_IOMMU(VFIO_TYPE1v2_IOMMU)");
	}
}

static int type1_map(struct ctx *c, int space, void *buf, size_t len,
		     uint64_t iova)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)buf,
		.iova = iova,
		.size = len,
	};

	return ioctl(c->fd[space], VFIO_IOMMU_MAP_DMA, &map);
}

static int type1_unmap(struct ctx *c, int space, uint64_t iova, size_t len)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = len,
	};
	int rc;

	rc = ioctl(c->fd[space], VFIO_IOMMU_UNMAP_DMA, &unmap);
	if (!rc && unmap.size != len) {
		errno = ERANGE;
		rc = -1;
	}
	return rc;
}

/* type1 has no copy: a second container pins and maps the memory again. */
static int type1_copy(struct ctx *c, void *buf, size_t len, uint64_t iova)
{
	return type1_map(c, 1, buf, len, iova);
}

static void iommufd_open(struct ctx *c, int first, int ndev)
{
	uint32_t pt;
	int i;

	ctx_init(c);
	c->fd[0] = open("/dev/iommu", O_RDWR);
	check(c->fd[0] < 0, "open /dev/iommu");
	for (i = 0; i < ndev; i++) {
		c->dev[i] = vfio_cdev_open(edu_bdf[first + i]);
		check_neg(c->dev[i], "open the VFIO cdev of the edu");
		check(vfio_bind(c->dev[i], c->fd[0], NULL),
		      "VFIO_DEVICE_BIND_IOMMUFD");
		check(ioas_alloc(c->fd[0], &c->ioas[i]), "IOMMU_IOAS_ALLOC");
		pt = c->ioas[i];
		check(vfio_attach(c->dev[i], &pt),
		      "VFIO_DEVICE_ATTACH_IOMMUFD_PT");
	}
}

static int iommufd_map(struct ctx *c, int space, void *buf, size_t len,
		       uint64_t iova)
{
	return ioas_map(c->fd[0], c->ioas[space], buf, len, iova);
}

static int iommufd_unmap(struct ctx *c, int space, uint64_t iova, size_t len)
{
	uint64_t unmapped;
	int rc;

	rc = ioas_unmap(c->fd[0], c->ioas[space], iova, len, &unmapped);
	if (!rc && unmapped != len) {
		errno = ERANGE;
		rc = -1;
	}
	return rc;
}

static int iommufd_copy(struct ctx *c, void *buf, size_t len, uint64_t iova)
{
	struct iommu_ioas_copy copy = {
		.size = sizeof(copy),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.dst_ioas_id = c->ioas[1],
		.src_ioas_id = c->ioas[0],
		.length = len,
		.dst_iova = iova,
		.src_iova = iova,
	};

	return ioctl(c->fd[0], IOMMU_IOAS_COPY, &copy);
}

/* An IOAS whose only page table is a mock domain (IOMMU_TEST_CMD). */
static void mock_open(struct ctx *c, int first, int ndev)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_MOCK_DOMAIN,
	};

	ctx_init(c);
	c->fd[0] = open("/dev/iommu", O_RDWR);
	check(c->fd[0] < 0, "open /dev/iommu");
	check(ioas_alloc(c->fd[0], &c->ioas[0]), "IOMMU_IOAS_ALLOC");
	cmd.id = c->ioas[0];
	check(ioctl(c->fd[0], IOMMU_TEST_CMD, &cmd),
	      "IOMMU_TEST_CMD(IOMMU_TEST_OP_MOCK_DOMAIN)");
	c->mock_idev = cmd.mock_domain.out_idev_id;
}

/* The bare pin loop: debugfs iommufd/bench_pin, kept open meanwhile. */
static void bare_open(struct ctx *c, int first, int ndev)
{
	ctx_init(c);
	c->fd[0] = open(BENCH_PIN, O_WRONLY);
	check(c->fd[0] < 0, "open " BENCH_PIN);
}

static int bare_write(struct ctx *c, const char *cmd)
{
	ssize_t len = strlen(cmd), rc;

	rc = write(c->fd[0], cmd, len);
	if (rc >= 0 && rc != len) {
		errno = EIO;
		rc = -1;
	}
	return rc < 0 ? -1 : 0;
}

static int bare_map(struct ctx *c, int space, void *buf, size_t len,
		    uint64_t iova)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "pin %lx %zx", (unsigned long)buf, len);
	return bare_write(c, cmd);
}

static int bare_unmap(struct ctx *c, int space, uint64_t iova, size_t len)
{
	return bare_write(c, "unpin");
}

static const struct backend type1 = {
	"type1", type1_open, type1_map, type1_unmap, type1_copy, ctx_close,
};
static const struct backend iommufd = {
	"iommufd", iommufd_open, iommufd_map, iommufd_unmap, iommufd_copy,
	ctx_close,
};
static const struct backend mock = {
	"iommufd mock domain", mock_open, iommufd_map, iommufd_unmap, NULL,
	ctx_close,
};
static const struct backend bare = {
	"bare pin_user_pages", bare_open, bare_map, bare_unmap, NULL,
	ctx_close,
};

static const struct backend *const vfio_pair[NR_COLS] = { &type1, &iommufd };
static const struct backend *const mock_pair[NR_COLS] = { &bare, &mock };

/* The column that goes @i-th in repetition @rep: the order alternates. */
static int col_at(int rep, int i)
{
	return rep % 2 ? NR_COLS - 1 - i : i;
}

/* A column BENCH_BACKEND left out. */
static bool col_skipped(int col)
{
	return only_col >= 0 && col != only_col;
}

static void record(int row, int col, double val)
{
	struct row *r = &rows[row];

	r->val[col][r->n[col]++] = val;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void stats(const double *val, int n, double *med, double *min,
		  double *max)
{
	double sorted[MAX_REPS];

	memcpy(sorted, val, n * sizeof(*val));
	qsort(sorted, n, sizeof(*sorted), cmp_double);
	*min = sorted[0];
	*max = sorted[n - 1];
	*med = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

static double median(double *val, int n)
{
	qsort(val, n, sizeof(*val), cmp_double);
	return n % 2 ? val[n / 2] : (val[n / 2 - 1] + val[n / 2]) / 2;
}

/*
 * The median of @n ratios iommufd/type1 that were measured in alternating
 * order (type1 first, then iommufd first, and so on), over the geometric
 * means of consecutive pairs: within a pair each backend went first once,
 * so any advantage of going first or second cancels. A plain median of
 * the ratios keeps that advantage whenever @n is odd (the odd one out
 * decides). A last unpaired ratio counts only when it is alone.
 */
static double alternating_median(double *ratios, int n)
{
	int i;

	if (n == 1)
		return ratios[0];
	for (i = 0; i + 1 < n; i += 2)
		ratios[i / 2] = sqrt(ratios[i] * ratios[i + 1]);
	return median(ratios, n / 2);
}

/*
 * Each repetition measures both columns back to back, which the emulated
 * machine's drift from one repetition to the next does not move as it
 * moves the columns' medians; the column measured first alternates (see
 * alternating_median()). 0 if a repetition has no value to divide by.
 */
static double paired_ratio(struct row *r)
{
	double ratios[MAX_REPS];
	int i, n = r->n[T1];

	if (r->n[FD] != n || !n)
		return 0;
	for (i = 0; i < n; i++) {
		if (r->val[T1][i] <= 0 || r->val[FD][i] <= 0)
			return 0;
		ratios[i] = r->val[FD][i] / r->val[T1][i];
	}
	return alternating_median(ratios, n);
}

/* The row's context lines, then its "bench" line. */
static void row_print(int row)
{
	struct row *r = &rows[row];
	double med[NR_COLS], min, max;
	int col, i;

	if (only_col >= 0)
		return;
	printf("# %s: %s, %s\n", r->id, r->what, r->unit);
	for (col = 0; col < NR_COLS; col++) {
		if (col == T1 && r->fd_only)
			continue;
		if (!r->n[col])
			die("row %s has no %s values", r->id, col_name[col]);
		printf("#   %-7s", col_name[col]);
		for (i = 0; i < r->n[col]; i++)
			printf(" %.3f", r->val[col][i]);
		printf("\n");
	}
	printf("bench %s %s", r->id, r->unit);
	for (col = 0; col < NR_COLS; col++) {
		if (col == T1 && r->fd_only) {
			printf(" %s - - -", col_name[col]);
			continue;
		}
		stats(r->val[col], r->n[col], &med[col], &min, &max);
		printf(" %s %.3f %.3f %.3f", col_name[col], med[col], min, max);
	}
	/*
	 * Memory is counted, not timed: nothing drifts to pair away, and a
	 * page some other allocation took during one repetition (2056 KiB
	 * instead of 2052) must not decide the row; the medians' ratio.
	 */
	if (!r->paired && !r->fd_only && row >= MEM_4K && med[T1] > 0)
		r->paired = med[FD] / med[T1];
	if (!r->paired && !r->fd_only)
		r->paired = paired_ratio(r);
	if (r->paired)
		printf(" ratio %.4f", r->paired);
	printf("\n");
	fflush(stdout);
}

static void progress(const char *fmt, ...)
{
	static double start;
	va_list ap;

	if (!start)
		start = now_us();
	fprintf(stderr, "bench: [%4.0fs] ", (now_us() - start) / 1e6);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

/* Memory the way a workload wants it, touched, so a map only pins. */
enum backing { ANON_4K, ANON_THP, HUGETLB };

struct buffer {
	char *mem;		/* @len bytes, aligned for the backing */
	void *map;		/* what mmap() returned, @map_len bytes */
	size_t len, map_len;
};

static void thp_set(const char *mode)
{
	int rc = write_file(THP_ENABLED, mode);

	if (rc)
		die("%s <- %s: %s", THP_ENABLED, mode, strerror(-rc));
}

static void buffer_alloc(struct buffer *b, size_t len, enum backing backing)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	size_t i;

	b->len = len;
	b->map_len = backing == ANON_THP ? len + HPAGE : len;
	if (backing == HUGETLB)
		flags |= MAP_HUGETLB;
	b->map = mmap(NULL, b->map_len, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (b->map == MAP_FAILED)
		die("mmap of %zu MiB%s: %s", len / MIB,
		    backing == HUGETLB ? " of hugetlbfs pages" : "",
		    strerror(errno));
	b->mem = b->map;
	if (backing == ANON_THP) {
		b->mem = (char *)(((uintptr_t)b->map + HPAGE - 1) &
				  ~(HPAGE - 1));
		check(madvise(b->mem, len, MADV_HUGEPAGE), "MADV_HUGEPAGE");
	} else if (backing == ANON_4K) {
		check(madvise(b->mem, len, MADV_NOHUGEPAGE), "MADV_NOHUGEPAGE");
	}
	for (i = 0; i < len; i += PAGE)
		b->mem[i] = 1;
}

static void buffer_free(struct buffer *b)
{
	munmap(b->map, b->map_len);
}

/*
 * Map @b at BIG_IOVA and unmap it, on each backend of @pair in every
 * repetition; with @mem_row, also the drop of free memory and the growth
 * of Slab across the map, per GiB mapped.
 */
static void bench_map_unmap(const struct backend *const pair[NR_COLS],
			    struct buffer *b, int map_row, int unmap_row,
			    int mem_row, int slab_row)
{
	struct meminfo before, after;
	double t0, t1, t2, t3;
	int rep, i, col;
	struct ctx c;

	for (rep = 0; rep < reps; rep++) {
		for (i = 0; i < NR_COLS; i++) {
			col = col_at(rep, i);
			if (col_skipped(col))
				continue;
			pair[col]->open(&c, 0, 1);
			meminfo_read(&before);
			t0 = now_us();
			check(pair[col]->map(&c, 0, b->mem, b->len, BIG_IOVA),
			      rows[map_row].id);
			t1 = now_us();
			meminfo_read(&after);
			t2 = now_us();
			check(pair[col]->unmap(&c, 0, BIG_IOVA, b->len),
			      rows[unmap_row].id);
			t3 = now_us();
			pair[col]->close(&c);

			record(map_row, col, (t1 - t0) / 1e3);
			record(unmap_row, col, (t3 - t2) / 1e3);
			if (mem_row < 0)
				continue;
			record(mem_row, col,
			       (double)(before.free - after.free) * GIB / b->len);
			record(slab_row, col,
			       (double)(after.slab - before.slab) * GIB / b->len);
		}
	}
	/* The memory rows come last, together: see main(). */
	row_print(map_row);
	row_print(unmap_row);
}

/* The 1 GiB of 4 KiB pages that the 4k, copy and mock workloads share. */
static void buffer_4k_alloc(struct buffer *b)
{
	struct meminfo before, after;

	meminfo_read(&before);
	buffer_alloc(b, BIG_LEN, ANON_4K);
	meminfo_read(&after);
	printf("# 4k: THP never + MADV_NOHUGEPAGE: AnonHugePages grew by %ld kB while touching 1 GiB\n",
	       after.anon_huge - before.anon_huge);
	if (after.anon_huge - before.anon_huge > 0)
		die("the 4 KiB buffer got transparent huge pages");
}

static void workload_4k(struct buffer *b)
{
	progress("1 GiB of 4 KiB pages: map, unmap, memory");
	bench_map_unmap(vfio_pair, b, MAP_4K, UNMAP_4K, MEM_4K, SLAB_4K);
}

static void workload_thp(void)
{
	struct meminfo before, after;
	struct buffer b;
	long grown;

	progress("1 GiB of THP: map, unmap, memory");
	thp_set("madvise");
	meminfo_read(&before);
	buffer_alloc(&b, BIG_LEN, ANON_THP);
	meminfo_read(&after);
	grown = after.anon_huge - before.anon_huge;
	printf("# thp: enabled=madvise + MADV_HUGEPAGE: AnonHugePages grew by %ld kB, %.1f%% of the 1 GiB buffer\n",
	       grown, 100.0 * grown * KIB / BIG_LEN);
	if (grown * KIB < BIG_LEN * 9 / 10)
		die("only %ld kB of the 1 GiB THP buffer are huge pages", grown);
	bench_map_unmap(vfio_pair, &b, MAP_THP, UNMAP_THP, MEM_THP, SLAB_THP);
	meminfo_read(&after);
	printf("# thp: AnonHugePages after the runs: %ld kB above the start\n",
	       after.anon_huge - before.anon_huge);
	buffer_free(&b);
	thp_set("never");
}

static void workload_hugetlb(void)
{
	long want = BIG_LEN / HPAGE;
	struct meminfo before, after;
	struct buffer b;
	char val[32];

	progress("1 GiB of hugetlbfs 2 MiB pages: map, unmap, memory");
	meminfo_read(&before);
	if (before.huge_free < want) {
		/* Not reserved at boot (hugepages=512): try now. */
		snprintf(val, sizeof(val), "%ld",
			 before.huge_total + want - before.huge_free);
		write_file("/proc/sys/vm/nr_hugepages", val);
		meminfo_read(&before);
	}
	printf("# hugetlb: HugePages_Total %ld, HugePages_Free %ld, need %ld\n",
	       before.huge_total, before.huge_free, want);
	if (before.huge_free < want)
		die("only %ld free hugetlbfs pages, %ld needed",
		    before.huge_free, want);
	buffer_alloc(&b, BIG_LEN, HUGETLB);
	meminfo_read(&after);
	printf("# hugetlb: %ld hugetlbfs pages in use by the buffer\n",
	       before.huge_free - after.huge_free);
	if (before.huge_free - after.huge_free != want)
		die("the buffer is not backed by %ld hugetlbfs pages", want);
	bench_map_unmap(vfio_pair, &b, MAP_HUGE, UNMAP_HUGE, MEM_HUGE,
			SLAB_HUGE);
	buffer_free(&b);
}

/*
 * What QEMU does for a guest with a vIOMMU: map one page, unmap it, again
 * and again, each time another page of a 16 MiB buffer, at a fixed IOVA.
 * A pair takes microseconds, so the emulated machine's speed drifts within
 * a repetition: both backends are set up at once, each on its own edu, and
 * take turns every CHURN_SLICE pairs, so that both see the same drift. The
 * row's ratio comes from the ratios of the slices taken back to back, a
 * finer pairing than that of the repetitions (see alternating_median()).
 */
#define CHURN_SLICE	256

/*
 * CHURN_PAIRS pairs on each backend of @c, in turns of CHURN_SLICE pairs,
 * the first backend chosen by @turn; the time per pair goes to @row, the
 * slices' ratios to @paired.
 */
static void churn_measure(struct ctx c[NR_COLS], struct buffer *b, int turn,
			  int row, double *paired, int *npaired)
{
	double spent[NR_COLS] = {}, slice[NR_COLS] = {}, t0;
	int n, i, k, col;
	char *page;

	for (n = 0; n < CHURN_PAIRS; n += CHURN_SLICE) {
		for (i = 0; i < NR_COLS; i++) {
			const struct backend *be;

			col = col_at(turn + n / CHURN_SLICE, i);
			if (col_skipped(col))
				continue;
			be = vfio_pair[col];
			/* The clock is read per slice, not per pair. */
			t0 = now_us();
			for (k = n; k < n + CHURN_SLICE; k++) {
				page = b->mem + k % (b->len / PAGE) * PAGE;
				check(be->map(&c[col], 0, page, PAGE,
					      BIG_IOVA),
				      "churn map");
				check(be->unmap(&c[col], 0, BIG_IOVA, PAGE),
				      "churn unmap");
			}
			slice[col] = now_us() - t0;
			spent[col] += slice[col];
		}
		if (only_col < 0)
			paired[(*npaired)++] = slice[FD] / slice[T1];
	}
	for (col = 0; col < NR_COLS; col++) {
		if (!col_skipped(col))
			record(row, col, spent[col] / CHURN_PAIRS);
	}
}

/* Both backends at once, each on its own edu, which alternates too. */
static void pair_open(struct ctx c[NR_COLS], int rep)
{
	int col;

	for (col = 0; col < NR_COLS; col++) {
		if (!col_skipped(col))
			vfio_pair[col]->open(&c[col], (col + rep) % 2, 1);
	}
}

static void pair_close(struct ctx c[NR_COLS])
{
	int col;

	for (col = 0; col < NR_COLS; col++) {
		if (!col_skipped(col))
			vfio_pair[col]->close(&c[col]);
	}
}

static void workload_churn(void)
{
	static double paired[MAX_REPS * CHURN_PAIRS / CHURN_SLICE];
	struct ctx c[NR_COLS];
	int rep, npaired = 0;
	struct buffer b;

	progress("4 KiB map+unmap churn, %d pairs", CHURN_PAIRS);
	buffer_alloc(&b, CHURN_LEN, ANON_4K);
	for (rep = 0; rep < reps; rep++) {
		pair_open(c, rep);
		churn_measure(c, &b, rep, CHURN, paired, &npaired);
		pair_close(c);
	}
	if (npaired)
		rows[CHURN].paired = alternating_median(paired, npaired);
	row_print(CHURN);
	buffer_free(&b);
}

/* Map resident pages [from, to) of @b, each alone, a page apart. */
static void resident_map(const struct backend *be, struct ctx *c,
			 struct buffer *b, long from, long to)
{
	long i;

	for (i = from; i < to; i++)
		check(be->map(c, 0, b->mem + i % (b->len / PAGE) * PAGE, PAGE,
			      RES_IOVA + 2 * i * PAGE),
		      "resident map");
}

/*
 * How many mappings type1 takes under its default dma_entry_limit: the
 * next one must fail with ENOSPC, the failure QEMU reports as "VFIO_MAP_DMA
 * failed: No space left on device" for a large guest with a vIOMMU.
 */
static unsigned long type1_default_limit(struct buffer *b, const char *limit)
{
	unsigned long n, max = strtoul(limit, NULL, 10);
	struct ctx c;
	int rc = 0;

	type1.open(&c, 0, 1);
	for (n = 0; n <= max; n++) {
		rc = type1.map(&c, 0, b->mem + n % (b->len / PAGE) * PAGE, PAGE,
			       RES_IOVA + 2 * n * PAGE);
		if (rc)
			break;
	}
	if (!rc)
		die("type1 took %lu mappings under dma_entry_limit=%s", n,
		    limit);
	if (errno != ENOSPC || n != max)
		die("type1 refused mapping %lu with %s, not mapping %lu with ENOSPC",
		    n + 1, strerror(errno), max + 1);
	type1.close(&c);
	return n;
}

/* The dma_entry_limit to put back, even if the run dies (make shell). */
static char dma_entry_limit_saved[32];

static void dma_entry_limit_restore(void)
{
	if (dma_entry_limit_saved[0])
		write_file(DMA_ENTRY_LIMIT, dma_entry_limit_saved);
}

/*
 * What a large guest with a vIOMMU makes QEMU do: the 4 KiB churn, while
 * 10^2 ... 10^6 other 4 KiB mappings stay in the same IOAS or container.
 * type1 needs its dma_entry_limit raised past 65535 for this; first the
 * default is shown refusing. Both backends hold their mappings at once
 * and take turns, as in the churn.
 */
static void workload_resident(void)
{
	static const int step_rows[] = { RES_1E2, RES_1E3, RES_1E4, RES_1E5,
					 RES_1E6 };
	static double paired[ARRAY_SIZE(step_rows)]
			    [MAX_REPS * CHURN_PAIRS / CHURN_SLICE];
	int npaired[ARRAY_SIZE(step_rows)] = {}, rep, step, col, nreps;
	char limit[sizeof(dma_entry_limit_saved)] = "";
	struct ctx c[NR_COLS];
	long resident;
	struct buffer b;
	double growth;

	nreps = reps < RES_REPS ? reps : RES_REPS;
	progress("4 KiB churn with 10^2 to 10^6 resident mappings, %d repetitions",
		 nreps);
	buffer_alloc(&b, RES_LEN, ANON_4K);
	check_neg(read_str(DMA_ENTRY_LIMIT, limit, sizeof(limit)),
		  "read " DMA_ENTRY_LIMIT);
	memcpy(dma_entry_limit_saved, limit, sizeof(limit));
	atexit(dma_entry_limit_restore);
	if (!col_skipped(T1))
		printf("# resident: type1 with dma_entry_limit=%s took %lu mappings and refused the next with ENOSPC\n",
		       limit, type1_default_limit(&b, limit));
	check_neg(write_file(DMA_ENTRY_LIMIT, "2000000"),
		  "raise " DMA_ENTRY_LIMIT);
	printf("# resident: type1 measured with dma_entry_limit=2000000; %d repetitions\n",
	       nreps);
	for (rep = 0; rep < nreps; rep++) {
		pair_open(c, rep);
		resident = 0;
		for (step = 0; step < (int)ARRAY_SIZE(step_rows); step++) {
			long want = 100;
			int i;

			for (i = 0; i < step; i++)
				want *= 10;
			for (i = 0; i < NR_COLS; i++) {
				struct meminfo before, after;
				bool last = want == 1000000;

				col = col_at(rep + step, i);
				if (col_skipped(col))
					continue;
				if (last)
					meminfo_read(&before);
				resident_map(vfio_pair[col], &c[col], &b,
					     resident, want);
				if (!last)
					continue;
				/* 9 * 10^5 more: the memory of each. */
				meminfo_read(&after);
				record(MEM_RES, col,
				       (double)(before.free - after.free) *
					       KIB / (want - resident));
				record(SLAB_RES, col,
				       (double)(after.slab - before.slab) *
					       KIB / (want - resident));
			}
			resident = want;
			churn_measure(c, &b, rep, step_rows[step],
				      paired[step], &npaired[step]);
		}
		pair_close(c);
	}
	check_neg(write_file(DMA_ENTRY_LIMIT, limit), "restore " DMA_ENTRY_LIMIT);
	dma_entry_limit_saved[0] = 0;
	for (step = 0; step < (int)ARRAY_SIZE(step_rows); step++) {
		if (npaired[step])
			rows[step_rows[step]].paired =
				alternating_median(paired[step],
						   npaired[step]);
		row_print(step_rows[step]);
	}
	/* Each backend's growth from 10^2 to 10^6, repetition by repetition. */
	for (rep = 0; rep < nreps; rep++) {
		for (col = 0; col < NR_COLS; col++) {
			if (col_skipped(col))
				continue;
			growth = rows[RES_1E6].val[col][rep] /
				 rows[RES_1E2].val[col][rep];
			record(RES_GROWTH, col, growth);
		}
	}
	row_print(RES_GROWTH);
	buffer_free(&b);
}

/*
 * Make memory that one device's space maps visible to a second device:
 * iommufd copies the mapping (sharing the pins), type1 maps it again in
 * the second device's container.
 */
static void workload_copy(struct buffer *b)
{
	const struct backend *be;
	double t0, t1, t2, t3;
	int rep, i, col;
	struct ctx c;

	progress("COPY: 1 GiB into a second device's space, then unmap it");
	for (rep = 0; rep < reps; rep++) {
		for (i = 0; i < NR_COLS; i++) {
			col = col_at(rep, i);
			if (col_skipped(col))
				continue;
			be = vfio_pair[col];
			be->open(&c, 0, 2);
			check(be->map(&c, 0, b->mem, b->len, BIG_IOVA),
			      "copy: the first device's map");
			t0 = now_us();
			check(be->copy(&c, b->mem, b->len, BIG_IOVA),
			      "copy-map");
			t1 = now_us();
			t2 = now_us();
			check(be->unmap(&c, 1, BIG_IOVA, b->len), "copy-unmap");
			t3 = now_us();
			check(be->unmap(&c, 0, BIG_IOVA, b->len),
			      "copy: the first device's unmap");
			be->close(&c);
			record(COPY_MAP, col, (t1 - t0) / 1e3);
			record(COPY_UNMAP, col, (t3 - t2) / 1e3);
		}
	}
	row_print(COPY_MAP);
	row_print(COPY_UNMAP);
}

/*
 * Before timing the bare pin file, check that it does what it says: its
 * pins hold, one range at a time, and closing the file unpins.
 */
static void bare_check(struct buffer *b)
{
	struct ctx c, other;
	int fd;

	fd = open("/dev/iommu", O_RDWR);
	check(fd < 0, "open /dev/iommu");
	bare_open(&c, 0, 0);
	check(bare_map(&c, 0, b->mem, 2 * PAGE, 0), "bench_pin: pin");
	check(md_check_refs(fd, b->mem, 2 * PAGE, 1),
	      "bench_pin: the pages are not pinned once");
	bare_open(&other, 0, 0);
	if (!bare_map(&other, 0, b->mem, PAGE, 0) || errno != EBUSY)
		die("bench_pin: a second pin did not fail with EBUSY");
	if (!bare_unmap(&other, 0, 0, 0) || errno != ENOENT)
		die("bench_pin: another file's unpin did not fail with ENOENT");
	ctx_close(&other);
	ctx_close(&c);
	check(md_check_refs(fd, b->mem, 2 * PAGE, 0),
	      "bench_pin: closing the file left the pages pinned");
	close(fd);
}

static void workload_mock(struct buffer *b)
{
	progress("mock domain map and unmap against bare pin and unpin");
	bare_check(b);
	printf("# mock-*: the type1 column is a bare pin_user_pages_fast(FOLL_LONGTERM) + unpin_user_pages loop\n");
	bench_map_unmap(mock_pair, b, MOCK_MAP, MOCK_UNMAP, -1, -1);
}

/*
 * A map into an IOAS with 1, 2, 4 ... 32 page tables (a mock device's
 * domain, and IOMMU_HWPT_ALLOC's more), against the bare pin of the same
 * 1 GiB in the type1 column. The pins are shared, so each page table more
 * should cost about its page table writes: domains-marginal is, per
 * repetition, the least-squares slope of the map's time over the number
 * of page tables, divided by the time IOMMU_HWPT_ALLOC takes to fill one
 * more page table from the mapped 1 GiB (domains-fill: no pin, the PFNs
 * read from the first page table, the writes).
 */
static void workload_domains(struct buffer *b)
{
	static const int step_rows[] = { DOM_1, DOM_2, DOM_4, DOM_8, DOM_16,
					 DOM_32 };
	const int nsteps = ARRAY_SIZE(step_rows);
	int rep, step, i, k, col, ndomains;
	uint32_t hwpt;
	double t0, t1;
	struct ctx c;

	progress("1 GiB into an IOAS with 1 to 32 mock page tables");
	bare_check(b);
	for (rep = 0; rep < reps; rep++) {
		double sx = 0, sy = 0, sxx = 0, sxy = 0, fill = 0, slope;

		for (step = 0; step < nsteps; step++) {
			ndomains = 1 << step;
			for (k = 0; k < NR_COLS; k++) {
				col = col_at(rep + step, k);
				if (col_skipped(col))
					continue;
				if (col == T1) {
					bare_open(&c, 0, 0);
					t0 = now_us();
					check(bare_map(&c, 0, b->mem, b->len, 0),
					      "domains: bare pin");
					t1 = now_us();
					ctx_close(&c);
					record(step_rows[step], T1,
					       (t1 - t0) / 1e3);
					continue;
				}
				mock_open(&c, 0, 1);
				for (i = 1; i < ndomains; i++)
					check(hwpt_alloc(c.fd[0], c.mock_idev,
							 c.ioas[0], &hwpt),
					      "IOMMU_HWPT_ALLOC");
				t0 = now_us();
				check(iommufd_map(&c, 0, b->mem, b->len,
						  BIG_IOVA),
				      rows[step_rows[step]].id);
				t1 = now_us();
				record(step_rows[step], FD, (t1 - t0) / 1e3);
				sx += ndomains;
				sy += (t1 - t0) / 1e3;
				sxx += (double)ndomains * ndomains;
				sxy += ndomains * (t1 - t0) / 1e3;
				if (ndomains == 1) {
					t0 = now_us();
					check(hwpt_alloc(c.fd[0], c.mock_idev,
							 c.ioas[0], &hwpt),
					      "domains-fill");
					fill = (now_us() - t0) / 1e3;
					record(DOM_FILL, FD, fill);
				}
				check(iommufd_unmap(&c, 0, BIG_IOVA, b->len),
				      "domains: unmap");
				ctx_close(&c);
			}
		}
		if (col_skipped(FD))
			continue;
		slope = (nsteps * sxy - sx * sy) / (nsteps * sxx - sx * sx);
		if (fill > 0)
			record(DOM_MARGINAL, FD, slope / fill);
	}
	printf("# domains-*: the type1 column is a bare pin_user_pages_fast(FOLL_LONGTERM) of the same 1 GiB\n");
	for (step = 0; step < nsteps; step++)
		row_print(step_rows[step]);
	row_print(DOM_FILL);
	if (rows[DOM_MARGINAL].n[FD])
		row_print(DOM_MARGINAL);
}

#define NR_IOAS		10000

/* CHANGE_PROCESS from a child of this process: a process of its own. */
static double change_process_child(int fd)
{
	struct iommu_ioas_change_process cmd = { .size = sizeof(cmd) };
	int status, pipefd[2];
	double took = -1;
	pid_t pid;

	check(pipe(pipefd), "pipe");
	pid = fork();
	check(pid < 0, "fork");
	if (!pid) {
		double t0 = now_us(), t;

		if (ioctl(fd, IOMMU_IOAS_CHANGE_PROCESS, &cmd))
			_exit(1);
		t = now_us() - t0;
		_exit(write(pipefd[1], &t, sizeof(t)) == sizeof(t) ? 0 : 1);
	}
	close(pipefd[1]);
	if (read(pipefd[0], &took, sizeof(took)) != sizeof(took))
		took = -1;
	close(pipefd[0]);
	check(waitpid(pid, &status, 0) != pid, "waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) || took < 0)
		die("IOMMU_IOAS_CHANGE_PROCESS in a child failed");
	return took;
}

/*
 * A context with 10^4 IOASes, as a VMM with many vIOMMU address spaces or
 * many guests' devices: the time to create each, to map one page of a
 * memfd into each, CHANGE_PROCESS across all of them from another
 * process (the live-update hand-over), and to destroy each; and the Slab
 * growth per empty IOAS. type1 has nothing alike: its column is left
 * empty.
 */
static void workload_ioas(void)
{
	static uint32_t ids[NR_IOAS];
	struct meminfo before, after;
	double t0, t1;
	int rep, fd, memfd, i;
	void *page;

	progress("%d IOASes: create, map a file page, CHANGE_PROCESS, destroy",
		 NR_IOAS);
	memfd = memfd_create("bench", 0);
	check(memfd < 0, "memfd_create");
	check(ftruncate(memfd, PAGE), "ftruncate");
	page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	check(page == MAP_FAILED, "mmap the memfd");
	memset(page, 1, PAGE);
	for (rep = 0; rep < reps && !col_skipped(FD); rep++) {
		fd = open("/dev/iommu", O_RDWR);
		check(fd < 0, "open /dev/iommu");
		meminfo_read(&before);
		t0 = now_us();
		for (i = 0; i < NR_IOAS; i++)
			check(ioas_alloc(fd, &ids[i]), "ioas-create");
		t1 = now_us();
		meminfo_read(&after);
		record(IOAS_CREATE, FD, (t1 - t0) / NR_IOAS);
		/* Later repetitions reuse the slabs the first one freed. */
		if (!rep)
			record(SLAB_IOAS, FD, (double)(after.slab - before.slab) *
						      KIB / NR_IOAS);
		t0 = now_us();
		for (i = 0; i < NR_IOAS; i++) {
			struct iommu_ioas_map_file map = {
				.size = sizeof(map),
				.flags = IOMMU_IOAS_MAP_FIXED_IOVA |
					 IOMMU_IOAS_MAP_READABLE |
					 IOMMU_IOAS_MAP_WRITEABLE,
				.ioas_id = ids[i],
				.fd = memfd,
				.length = PAGE,
				.iova = BIG_IOVA,
			};

			check(ioctl(fd, IOMMU_IOAS_MAP_FILE, &map),
			      "ioas-map-file");
		}
		t1 = now_us();
		record(IOAS_MAP_FILE, FD, (t1 - t0) / NR_IOAS);
		record(IOAS_CHANGE, FD, change_process_child(fd) / 1e3);
		t0 = now_us();
		for (i = 0; i < NR_IOAS; i++)
			check(iommufd_destroy(fd, ids[i]), "ioas-destroy");
		t1 = now_us();
		record(IOAS_DESTROY, FD, (t1 - t0) / NR_IOAS);
		close(fd);
	}
	munmap(page, PAGE);
	close(memfd);
	if (col_skipped(FD))
		return;
	/* slab-ioas comes with the memory rows, at the end. */
	for (i = IOAS_CREATE; i <= IOAS_DESTROY; i++)
		row_print(i);
}

/*
 * Kernel memory per bound device: NR_DEVICES mock devices that nothing
 * binds (debugfs iommufd/bench_devices), then, while those still exist,
 * NR_DEVICES more bound to one context and attached to the page table of
 * its IOAS (IOMMU_TEST_OP_MOCK_DOMAIN). The second growth less the first is
 * what binding and attaching cost: iommufd's device, its group (each mock
 * device has an IOMMU group of its own), their IDs and the test's object
 * that owns the device. Nothing is freed in between, so neither reuses
 * slabs the other emptied, and a batch before them, not counted, takes up
 * what earlier workloads left partly free (without it the first batch
 * grew a fifth less). Run once: a repetition would reuse this one's slabs.
 * type1 cannot bind a mock device: its column is left empty.
 */
#define NR_DEVICES	1000

/* A new mock device bound to @fd and attached to @pt_id; its page table. */
static uint32_t mock_domain_attach(int fd, uint32_t pt_id)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_MOCK_DOMAIN,
		.id = pt_id,
	};

	check(ioctl(fd, IOMMU_TEST_CMD, &cmd),
	      "IOMMU_TEST_CMD(IOMMU_TEST_OP_MOCK_DOMAIN)");
	return cmd.mock_domain.out_hwpt_id;
}

static void workload_devices(void)
{
	struct meminfo before, after;
	int fd, devices, i;
	uint32_t pt_id;
	double alone, bound;
	char count[16];

	if (col_skipped(FD))
		return;
	progress("%d mock devices unbound, %d bound and attached", NR_DEVICES,
		 NR_DEVICES);
	devices = open(BENCH_DEVICES, O_WRONLY);
	check(devices < 0, "open " BENCH_DEVICES);
	snprintf(count, sizeof(count), "%d", NR_DEVICES);
	/* The first batch fills the partial slabs earlier workloads left. */
	for (i = 0; i < 2; i++) {
		meminfo_read(&before);
		check(write(devices, count, strlen(count)) !=
			      (ssize_t)strlen(count),
		      "create unbound mock devices");
		meminfo_read(&after);
	}
	alone = (double)(after.slab - before.slab) * KIB / NR_DEVICES;

	/* The first bound device makes the page table the others share. */
	fd = open("/dev/iommu", O_RDWR);
	check(fd < 0, "open /dev/iommu");
	check(ioas_alloc(fd, &pt_id), "IOMMU_IOAS_ALLOC");
	pt_id = mock_domain_attach(fd, pt_id);
	meminfo_read(&before);
	for (i = 0; i < NR_DEVICES; i++)
		mock_domain_attach(fd, pt_id);
	meminfo_read(&after);
	bound = (double)(after.slab - before.slab) * KIB / NR_DEVICES;
	close(fd);
	close(devices);

	record(SLAB_DEV_ALONE, FD, alone);
	record(SLAB_DEV_BOUND, FD, bound);
	record(SLAB_DEV, FD, bound - alone);
}

/*
 * DPDK's testpmd on /dev/vfio/vfio, served by type1 and by iommufd: the
 * DPDK selftest (vfio_dpdk beside this program) runs testpmd on the
 * provider DPDK_ONLY names, the one first alternating, and prints the rate
 * that testpmd's own Rx-pps counters give for io forwarding between the
 * two NICs as "dpdk <provider> <packets/s>". The row is the time a packet
 * takes, so that lower is better, as in every other row.
 */
static void workload_dpdk(void)
{
	static const char *const provider[NR_COLS] = { "vfio", "iommufd" };
	char cmd[256], line[512], name[16], said[4096];
	int rep, i, col, status;
	long pps;
	FILE *f;

	progress("DPDK testpmd, io forwarding, %d s a run", DPDK_SECONDS);
	for (rep = 0; rep < reps; rep++) {
		for (i = 0; i < NR_COLS; i++) {
			col = col_at(rep, i);
			if (col_skipped(col))
				continue;
			snprintf(cmd, sizeof(cmd),
				 /* Its exit status, whatever it printed before. */
				 "DPDK_SECONDS=%d DPDK_ONLY=%s /tests/vfio_dpdk 2>&1; echo \"exit $?\"",
				 DPDK_SECONDS, provider[col]);
			f = popen(cmd, "r");
			if (!f)
				die("%s: %s", cmd, strerror(errno));
			pps = 0;
			status = -1;
			said[0] = 0;
			while (fgets(line, sizeof(line), f)) {
				const char *p = strstr(line, "dpdk ");

				/* The last lines, for the error below. */
				if (strlen(said) + strlen(line) >= sizeof(said))
					said[0] = 0;
				strcat(said, line);
				if (!pps && p &&
				    sscanf(p, "dpdk %15s %ld packets/s", name, &pps) != 2)
					pps = 0;
				sscanf(line, "exit %d", &status);
			}
			pclose(f);
			if (status || pps <= 0)
				die("%s gave no rate; it said:\n%s", cmd, said);
			record(DPDK_IO, col, 1e9 / pps);
		}
	}
	row_print(DPDK_IO);
}

/* The two edus that are each alone in an IOMMU group, given to vfio-pci. */
static void edus_claim(void)
{
	char edus[8][NAME_LEN], name[NAME_LEN];
	int n, i, found = 0, group;

	n = edu_find(edus, 8);
	check_neg(n, "list the PCI devices");
	for (i = 0; i < n && i < 8 && found < 2; i++) {
		group = pci_group(edus[i]);
		if (group >= 0 && group_devices(group, NULL, 0) == 1)
			memcpy(edu_bdf[found++], edus[i], NAME_LEN);
	}
	if (found < 2)
		die("%d edu devices alone in an IOMMU group, 2 needed", found);
	for (i = 0; i < 2; i++) {
		check_neg(vfio_pci_claim(edu_bdf[i], &edu_claimed[i]),
			  "give the edu to vfio-pci");
		check_neg(vfio_cdev_name(edu_bdf[i], name, sizeof(name)),
			  "find the edu's VFIO cdev");
		printf("# edu %d: %s, IOMMU group %d, /dev/vfio/devices/%s\n",
		       i + 1, edu_bdf[i], pci_group(edu_bdf[i]), name);
	}
}

static void edus_release(void)
{
	int i;

	for (i = 0; i < 2; i++)
		check_neg(vfio_pci_release(edu_bdf[i], edu_claimed[i]),
			  "give the edu back");
}

/* bench.reps=N from the kernel command line, if there. */
static void reps_from_cmdline(void)
{
	char line[4096], *arg;

	if (read_str("/proc/cmdline", line, sizeof(line)))
		return;
	for (arg = strtok(line, " "); arg; arg = strtok(NULL, " ")) {
		if (!strncmp(arg, "bench.reps=", 11))
			reps = atoi(arg + 11);
	}
}

static bool wanted(int argc, char **argv, const char *name)
{
	int i;

	if (argc <= 2)
		return true;
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], name))
			return true;
	}
	return false;
}

int main(int argc, char **argv)
{
	struct buffer b4k = {};
	double start = now_us();
	char val[64] = "";
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	reps_from_cmdline();
	for (i = 0; i < NR_COLS && getenv("BENCH_BACKEND"); i++) {
		if (!strcmp(getenv("BENCH_BACKEND"), col_name[i]))
			only_col = i;
	}
	if (argc > 1 && atoi(argv[1]))
		reps = atoi(argv[1]);
	if (reps < 1 || reps > MAX_REPS)
		die("repetitions must be 1 to %d", MAX_REPS);

	read_str("/proc/sys/kernel/osrelease", val, sizeof(val));
	printf("# iommufd bench: kernel %s, %d repetitions, %ld online CPUs\n",
	       val, reps, sysconf(_SC_NPROCESSORS_ONLN));
	read_str(THP_ENABLED, val, sizeof(val));
	printf("# THP at start: %s\n", val);
	printf("# columns: median min max of each; backends alternate first\n");
	edus_claim();
	thp_set("never");

	if (wanted(argc, argv, "4k") || wanted(argc, argv, "copy") ||
	    wanted(argc, argv, "mock") || wanted(argc, argv, "domains"))
		buffer_4k_alloc(&b4k);
	if (wanted(argc, argv, "4k"))
		workload_4k(&b4k);
	if (wanted(argc, argv, "thp"))
		workload_thp();
	if (wanted(argc, argv, "hugetlb"))
		workload_hugetlb();
	if (wanted(argc, argv, "churn"))
		workload_churn();
	if (wanted(argc, argv, "resident"))
		workload_resident();
	if (wanted(argc, argv, "copy"))
		workload_copy(&b4k);
	if (wanted(argc, argv, "mock"))
		workload_mock(&b4k);
	if (wanted(argc, argv, "domains"))
		workload_domains(&b4k);
	if (wanted(argc, argv, "ioas"))
		workload_ioas();
	if (wanted(argc, argv, "devices"))
		workload_devices();
	if (wanted(argc, argv, "dpdk"))
		workload_dpdk();

	for (i = MEM_4K; i < NR_ROWS; i++) {
		if (rows[i].n[T1] || rows[i].n[FD])
			row_print(i);
	}
	edus_release();
	printf("# done in %.0f s\n", (now_us() - start) / 1e6);
	progress("done");
	return 0;
}
