// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test-only interfaces (CONFIG_IOMMUFD_TEST). Never enable in production.
 *
 * IOMMU_TEST_CMD lets the selftests look inside the kernel (page pin
 * counts) and steer it (a smaller temporary memory budget, so that batch
 * boundaries are crossed with small buffers).
 *
 * debugfs "iommufd/inject": writing "warn", "kasan" or "leak" makes the
 * kernel print a WARN, a KASAN out-of-bounds report or leak an object that
 * kmemleak will report. The test harness uses it to prove that its console
 * judge fails a run that shows any of these.
 *
 * debugfs "iommufd/bench_pin": writing "pin <uaddr> <length>" (hex) pins a
 * user range with a bare pin_user_pages_fast() loop and "unpin" unpins it,
 * so that the benchmark can hold the mock domain's map and unmap against
 * the cost of pinning alone.
 *
 * debugfs "iommufd/bench_devices": writing a count N creates N mock devices
 * that no context binds, held until the file is closed, so that the
 * benchmark can tell what a bound device costs iommufd from what the
 * device itself costs.
 *
 * debugfs "iommufd/mock_share_group": while it is Y, a new mock device
 * joins the IOMMU group of the newest mock device that still exists
 * instead of getting a group of its own, so tests can build multi-device
 * groups.
 *
 * debugfs "iommufd/mock_driver_match": see the mock DMA driver.
 *
 * debugfs "iommufd/mock_msi_window": while it is Y, new mock devices have
 * an MSI window (a reserved region) at MOCK_MSI_START, as a real device
 * behind an IOMMU does.
 *
 * debugfs "iommufd/mock_sw_msi", "mock_no_snoop" and "mock_narrow": while
 * one is Y, new mock devices sit behind a mock IOMMU that differs as a
 * real one may, see "The mock IOMMU" below.
 */
#define pr_fmt(fmt) "iommufd: " fmt

#include <linux/anon_inodes.h>
#include <linux/compiler.h>
#include <linux/device.h>
#include <linux/file.h>
#include <linux/idr.h>
#include <linux/iommu.h>
#include <linux/iommufd.h>
#include <linux/debugfs.h>
#include <linux/fault-inject.h>
#include <linux/mm.h>
#include <linux/seq_file.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <uapi/linux/iommufd.h>

#include "iommufd_private.h"
#include "iommufd_test.h"

static struct dentry *iommufd_fail_dir;

/*
 * fail_iommufd: the allocation and pinning paths ask it whether to fail,
 * so a fail-nth sweep (/proc/self/task/<tid>/fail-nth) reaches every
 * unwind path.
 */
DECLARE_FAULT_ATTR(fail_iommufd);

/* The default budget for temporary buffers, in bytes; see iommufd_private.h. */
#define IOMMUFD_TEST_DEFAULT_MEMORY_LIMIT 65536
size_t iommufd_test_memory_limit = IOMMUFD_TEST_DEFAULT_MEMORY_LIMIT;

/*
 * The mock IOMMU
 * ==============
 *
 * Mock devices sit on a bus of their own whose iommu_ops are the mock's, so
 * the mock works next to a real IOMMU driver (which owns the PCI and
 * platform buses). IO pages are half the CPU page size, so that IOVAs
 * inside a CPU page get exercised, and the aperture does not start at 0, so
 * that reserved ranges do.
 *
 * A mock domain is a two-level page table, as a real IOMMU's is, so that it
 * costs about what one costs: an xarray of leaf tables by IOVA /
 * MOCK_LEAF_SPAN, each a page of entries, one per IO page, holding the
 * physical address with MOCK_ENTRY_PRESENT set. As VT-d frees the page
 * table pages a large unmap covers, an unmap frees each leaf whose whole
 * span it unmapped, so that a map there needs memory again (and can fail).
 * Maps and unmaps of one domain are serialized by their caller (iommufd's
 * iova_rwsem), which read_and_clear_dirty() holds too; the other lookups
 * (the test's map checks and dirty writes, debugfs, iova_to_phys() and
 * iova_to_pfns()) may run beside an unmap, inside an RCU read section,
 * after which a freed leaf goes.
 *
 * A device made with MOCK_FLAGS_DEVICE_HUGE_IOVA gets domains that also map
 * MOCK_HUGE_PAGE_SIZE pages: each of its entries has MOCK_ENTRY_HUGE set,
 * and the first entry of the huge page stands for all of them where the
 * hardware has one entry, which is for dirty tracking.
 *
 * The mock is as strict as the strictest real driver about when a domain
 * is usable. As ARM SMMU and virtio-iommu do, it finishes a domain at its
 * first attach: before that, the domain has no aperture and maps nothing
 * (a map or a lookup WARNs), and its page sizes are only the smallest;
 * the attach gives it the aperture and page sizes of the IOMMU of the
 * device it was made for (iommu_domain_alloc_flags()), or of the device
 * attaching.
 * A map outside the aperture WARNs too: iommufd reserves what lies there.
 * A later attach through an IOMMU with fewer address bits narrows the
 * aperture of a domain no device uses, and is refused while one does or
 * while something is mapped beyond, as VT-d does. A mock domain takes
 * only mock devices, and an attach to one can fail (fail_iommufd), as a
 * driver's can for lack of memory. What a device's IOMMU is like is set
 * when the device is made, from debugfs switches:
 *  - mock_sw_msi: MSIs are not translated by the platform: the device has
 *    an IOMMU_RESV_SW_MSI window at MOCK_SW_MSI_START, where the domain
 *    needs an MSI cookie (as with an ARM ITS or virtio-iommu);
 *  - mock_no_snoop: the IOMMU cannot make DMA snoop CPU caches. Like VT-d
 *    without snoop control, a domain then refuses to enforce coherency
 *    while such a device is attached, and such a device the attach to a
 *    domain that enforces it. Enforcing is refused as well once a domain
 *    maps something, as VT-d only marks the entries it writes afterwards;
 *  - mock_narrow: the IOMMU has fewer address bits: the aperture ends at
 *    MOCK_NARROW_LAST.
 *
 * Dirty tracking: IOMMU_TEST_OP_DIRTY plays the device's writes, setting
 * MOCK_ENTRY_DIRTY where a real IOMMU would set its dirty bit, and
 * read_and_clear_dirty() reports and clears it. Both change an entry with
 * cmpxchg64() only while it is present, so that neither can bring back an
 * entry an unmap just cleared.
 */
#define MOCK_IO_PAGE_SIZE (PAGE_SIZE / 2)
#define MOCK_HUGE_PAGE_SIZE (512 * MOCK_IO_PAGE_SIZE)
#define MOCK_LEAF_ENTRIES (PAGE_SIZE / sizeof(u64))
#define MOCK_LEAF_SPAN (MOCK_LEAF_ENTRIES * MOCK_IO_PAGE_SIZE)
#define MOCK_ENTRY_PRESENT BIT_ULL(0)
#define MOCK_ENTRY_DIRTY BIT_ULL(1)
#define MOCK_ENTRY_HUGE BIT_ULL(2)
#define MOCK_ENTRY_ADDR(entry) ((entry) & ~(u64)(MOCK_IO_PAGE_SIZE - 1))
/* The mock_sw_msi window and the mock_narrow aperture's end. */
#define MOCK_SW_MSI_START (MOCK_APERTURE_START + SZ_512M)
#define MOCK_SW_MSI_LENGTH SZ_1M
#define MOCK_NARROW_LAST (MOCK_APERTURE_START + SZ_1G - 1)

/*
 * The attach state (finished, enforce_cc, devices, no_snoop_devices, and
 * each mock_dev's domain) changes under mock_attach_lock: attaches of
 * different groups, and a group leaving a domain for its blocking domain,
 * are not otherwise serialized. max_mapped, map_calls and unmapped change
 * under the caller's serialization of maps and unmaps (iova_rwsem), which
 * iommufd also holds when it attaches a group to a domain that maps
 * something.
 */
struct mock_iommu_domain {
	struct iommu_domain domain;
	struct xarray leaves;	/* IOVA / MOCK_LEAF_SPAN -> u64 entries[] */
	unsigned long map_calls;	/* how many map_pages() so far */
	unsigned long unmapped;	/* how many IO pages unmapped so far */
	bool dirty_tracking;	/* set_dirty_tracking() turned it on */
	bool finished;		/* attached once: aperture and page sizes set */
	bool enforce_cc;	/* enforce_cache_coherency() said yes */
	bool nest_parent;	/* made with IOMMU_DOMAIN_ALLOC_NEST_PARENT */
	/* Made for a device: its IOMMU shapes the domain at the finish. */
	bool shaped;
	bool shaped_narrow;
	u32 shaped_flags;	/* MOCK_FLAGS_DEVICE_* */
	unsigned int devices;	/* attached mock devices */
	unsigned int no_snoop_devices;	/* of which mock_no_snoop ones */
	unsigned long max_mapped;	/* the top of what is mapped, + 1 */
};

static DEFINE_SPINLOCK(mock_attach_lock);

/*
 * A device of the mock bus; what its IOMMU is like is fixed when it is
 * made (see the debugfs switches). @domain, the paging domain it is
 * attached to, changes under its IOMMU group's mutex.
 */
struct mock_dev {
	struct device dev;
	int id;
	u32 flags;	/* MOCK_FLAGS_DEVICE_* */
	bool msi_window;
	bool sw_msi;
	bool no_snoop;
	bool narrow;
	struct mock_iommu_domain *domain;
	struct list_head item;	/* in mock_devs */
	struct mock_dev *group_with;	/* joins its group, for KUnit */
	struct list_head bench_item;	/* held by a "bench_devices" file */
};

static struct mock_iommu_domain *to_mock_domain(struct iommu_domain *domain)
{
	return container_of(domain, struct mock_iommu_domain, domain);
}

static const struct iommu_domain_ops mock_domain_ops;

static int mock_domain_attach_dev(struct iommu_domain *domain,
				  struct device *dev);
static void mock_domain_detach_dev(struct iommu_domain *domain,
				   struct device *dev);

/* Nothing to free: there is one blocking domain for every group. */
static void mock_blocking_domain_free(struct iommu_domain *domain)
{
}

static const struct iommu_domain_ops mock_blocking_ops = {
	.attach_dev = mock_domain_attach_dev,
	.detach_dev = mock_domain_detach_dev,
	.free = mock_blocking_domain_free,
};

/*
 * A static blocking domain: claiming a group's DMA ownership cannot then
 * fail for lack of memory (the 6.1 core would report -EINVAL for it).
 */
static struct iommu_domain mock_blocking_domain = {
	.ops = &mock_blocking_ops,
};

static struct iommu_domain *mock_domain_alloc(unsigned int type)
{
	struct mock_iommu_domain *mock;

	if (type == IOMMU_DOMAIN_BLOCKED)
		return &mock_blocking_domain;
	if (type != IOMMU_DOMAIN_UNMANAGED && type != IOMMU_DOMAIN_DMA)
		return NULL;
	mock = kzalloc(sizeof(*mock), GFP_KERNEL);
	if (!mock)
		return NULL;
	/* No aperture until the first attach, see mock_domain_finish(). */
	mock->domain.geometry.force_aperture = true;
	xa_init(&mock->leaves);
	return &mock->domain;
}

/* How many IO pages the domain maps; walks every leaf. */
static unsigned long mock_domain_mapped(struct mock_iommu_domain *mock)
{
	unsigned long index, i, n = 0;
	u64 *leaf;

	xa_for_each(&mock->leaves, index, leaf)
		for (i = 0; i != MOCK_LEAF_ENTRIES; i++)
			n += !!(READ_ONCE(leaf[i]) & MOCK_ENTRY_PRESENT);
	return n;
}

static void mock_domain_free(struct iommu_domain *domain)
{
	struct mock_iommu_domain *mock = to_mock_domain(domain);
	unsigned long index;
	u64 *leaf;

	/* Nothing may use it any more, nor stay mapped in it. */
	WARN_ON(mock->devices);
	WARN_ON(mock_domain_mapped(mock));
	xa_for_each(&mock->leaves, index, leaf)
		free_page((unsigned long)leaf);
	xa_destroy(&mock->leaves);
	kfree(mock);
}

/*
 * The entry of the IO page at @iova, or NULL if its leaf does not exist.
 * Valid while the caller keeps unmaps of the domain out (iova_rwsem, or a
 * domain nobody else can reach) or holds rcu_read_lock().
 */
static u64 *mock_domain_entry(struct mock_iommu_domain *mock,
			      unsigned long iova)
{
	u64 *leaf = xa_load(&mock->leaves, iova / MOCK_LEAF_SPAN);

	if (!leaf)
		return NULL;
	return &leaf[(iova % MOCK_LEAF_SPAN) / MOCK_IO_PAGE_SIZE];
}

/* The value of the entry of @iova (0 without a leaf), read under RCU. */
static u64 mock_domain_entry_read(struct mock_iommu_domain *mock,
				  unsigned long iova)
{
	u64 *entry, val;

	rcu_read_lock();
	entry = mock_domain_entry(mock, iova);
	val = entry ? READ_ONCE(*entry) : 0;
	rcu_read_unlock();
	return val;
}

/* The leaf holding the entry of @iova, made if missing. */
static u64 *mock_domain_leaf(struct mock_iommu_domain *mock,
			     unsigned long iova, gfp_t gfp)
{
	unsigned long index = iova / MOCK_LEAF_SPAN;
	u64 *leaf, *old;

	leaf = xa_load(&mock->leaves, index);
	if (leaf)
		return leaf;
	/* A page table page a driver may fail to get (fail_nth). */
	if (iommufd_should_fail())
		return NULL;
	leaf = (u64 *)get_zeroed_page(gfp);
	if (!leaf)
		return NULL;
	old = xa_cmpxchg(&mock->leaves, index, NULL, leaf, gfp);
	if (!old)
		return leaf;
	free_page((unsigned long)leaf);
	return xa_is_err(old) ? NULL : old;
}

static struct mock_dev *to_mock_dev(struct device *dev);

/*
 * What the first attach makes of a domain: it takes the aperture and page
 * sizes of the IOMMU of the device it was made for (see
 * mock_domain_alloc_flags()), or else of the device attaching, @mdev.
 */
static void mock_domain_finish(struct mock_iommu_domain *mock,
			       struct mock_dev *mdev)
{
	bool narrow = mock->shaped ? mock->shaped_narrow : mdev->narrow;
	u32 flags = mock->shaped ? mock->shaped_flags : mdev->flags;

	mock->domain.geometry.aperture_start = MOCK_APERTURE_START;
	mock->domain.geometry.aperture_end =
		narrow ? MOCK_NARROW_LAST : MOCK_APERTURE_LAST;
	mock->domain.pgsize_bitmap = MOCK_IO_PAGE_SIZE;
	if (flags & MOCK_FLAGS_DEVICE_HUGE_IOVA)
		mock->domain.pgsize_bitmap |= MOCK_HUGE_PAGE_SIZE;
	mock->finished = true;
}

/*
 * Attach the device, which leaves the domain it was on: as 6.1's drivers,
 * the mock hears of the new domain only. The blocking domain takes any
 * mock device; a paging domain is finished by its first attach.
 */
/* Take the device off its paging domain's counts. */
static void mock_dev_leave_domain(struct mock_dev *mdev)
{
	lockdep_assert_held(&mock_attach_lock);

	if (!mdev->domain)
		return;
	mdev->domain->devices--;
	mdev->domain->no_snoop_devices -= mdev->no_snoop;
	mdev->domain = NULL;
}

/* Whether @mdev may join @mock, which it may first have to adjust. */
static int mock_domain_join(struct mock_iommu_domain *mock,
			    struct mock_dev *mdev)
{
	struct iommu_domain *domain = &mock->domain;

	lockdep_assert_held(&mock_attach_lock);

	if (mdev->no_snoop && mock->enforce_cc)
		return -EINVAL;
	if (!mock->finished) {
		mock_domain_finish(mock, mdev);
		return 0;
	}
	if (mdev->narrow && domain->geometry.aperture_end > MOCK_NARROW_LAST) {
		/* Fewer levels: freeing the top ones would pull them from
		 * under the devices attached, or drop what is mapped there.
		 */
		if (mock->devices || mock->max_mapped > MOCK_NARROW_LAST + 1)
			return -EINVAL;
		domain->geometry.aperture_end = MOCK_NARROW_LAST;
	}
	return 0;
}

/*
 * Attach the device, which leaves the domain it was on: as 6.1's drivers,
 * the mock hears of the new domain only. The blocking domain takes any
 * mock device; a paging domain is finished by its first attach.
 */
static int mock_domain_attach_dev(struct iommu_domain *domain,
				  struct device *dev)
{
	struct mock_dev *mdev = to_mock_dev(dev);
	struct mock_iommu_domain *mock;
	int rc = 0;

	if (!mdev)
		return -EINVAL;
	/* A driver may need memory to attach; not for the default domain. */
	if (domain->type == IOMMU_DOMAIN_UNMANAGED && iommufd_should_fail())
		return -ENOMEM;
	spin_lock(&mock_attach_lock);
	if (domain == &mock_blocking_domain) {
		mock_dev_leave_domain(mdev);
		goto out_unlock;
	}
	mock = to_mock_domain(domain);
	if (mdev->domain == mock)
		goto out_unlock;
	rc = mock_domain_join(mock, mdev);
	if (rc)
		goto out_unlock;
	mock_dev_leave_domain(mdev);
	mock->devices++;
	mock->no_snoop_devices += mdev->no_snoop;
	mdev->domain = mock;
out_unlock:
	spin_unlock(&mock_attach_lock);
	return rc;
}

static void mock_domain_detach_dev(struct iommu_domain *domain,
				   struct device *dev)
{
	struct mock_dev *mdev = to_mock_dev(dev);

	if (!mdev)
		return;
	spin_lock(&mock_attach_lock);
	mock_dev_leave_domain(mdev);
	spin_unlock(&mock_attach_lock);
}

static size_t mock_domain_unmap_pages(struct iommu_domain *domain,
				      unsigned long iova, size_t pgsize,
				      size_t pgcount,
				      struct iommu_iotlb_gather *gather);

static int mock_domain_map_pages(struct iommu_domain *domain,
				 unsigned long iova, phys_addr_t paddr,
				 size_t pgsize, size_t pgcount, int prot,
				 gfp_t gfp, size_t *mapped)
{
	struct mock_iommu_domain *mock = to_mock_domain(domain);
	size_t size = pgsize * pgcount, done = 0;
	u64 flags = MOCK_ENTRY_PRESENT;
	int rc;

	/*
	 * Mapping into a domain its driver has not finished is a bug, and so
	 * is mapping outside its aperture, which iommufd keeps reserved.
	 */
	if (WARN_ON(!mock->finished))
		return -ENODEV;
	if (WARN_ON(iova < domain->geometry.aperture_start ||
		    iova + size - 1 > domain->geometry.aperture_end))
		return -ERANGE;
	if (pgsize == MOCK_HUGE_PAGE_SIZE)
		flags |= MOCK_ENTRY_HUGE;
	mock->map_calls++;
	mock->max_mapped = max(mock->max_mapped, iova + size);
	while (done != size) {
		unsigned long cur = iova + done;
		u64 *leaf = mock_domain_leaf(mock, cur, gfp);
		unsigned long i = (cur % MOCK_LEAF_SPAN) / MOCK_IO_PAGE_SIZE;

		if (!leaf) {
			rc = -ENOMEM;
			goto err_unmap;
		}
		for (; i != MOCK_LEAF_ENTRIES && done != size;
		     i++, done += MOCK_IO_PAGE_SIZE) {
			/* iommufd never maps over a mapping. */
			if (WARN_ON(leaf[i] & MOCK_ENTRY_PRESENT)) {
				rc = -EBUSY;
				goto err_unmap;
			}
			WRITE_ONCE(leaf[i], (paddr + done) | flags);
		}
	}
	*mapped = done;
	return 0;

err_unmap:
	if (done)
		mock_domain_unmap_pages(domain, iova, MOCK_IO_PAGE_SIZE,
					done / MOCK_IO_PAGE_SIZE, NULL);
	return rc;
}

static void mock_domain_leaf_free_rcu(struct rcu_head *head)
{
	__free_page(container_of(head, struct page, rcu_head));
}

/*
 * Free the leaves whose whole span lies in [iova, iova + size), which lies
 * in the aperture: no index or bound below wraps.
 */
static void mock_domain_free_leaves(struct mock_iommu_domain *mock,
				    unsigned long iova, size_t size)
{
	unsigned long index = DIV_ROUND_UP(iova, MOCK_LEAF_SPAN);
	unsigned long last = iova + size - 1;
	u64 *leaf;

	for (; index * MOCK_LEAF_SPAN + MOCK_LEAF_SPAN - 1 <= last; index++) {
		leaf = xa_erase(&mock->leaves, index);
		if (leaf)
			call_rcu(&virt_to_page(leaf)->rcu_head,
				 mock_domain_leaf_free_rcu);
	}
}

static size_t mock_domain_unmap_pages(struct iommu_domain *domain,
				      unsigned long iova, size_t pgsize,
				      size_t pgcount,
				      struct iommu_iotlb_gather *gather)
{
	struct mock_iommu_domain *mock = to_mock_domain(domain);
	size_t size = pgsize * pgcount, done = 0;

	u64 *entry;

	if (WARN_ON(!mock->finished))
		return 0;
	/*
	 * Stricter than VT-d, which may leave a large IO page mapped: an
	 * unmap that starts inside a huge IO page is a caller's bug, and one
	 * that ends inside it takes all of it, returning more than was asked
	 * (which iommufd WARNs about).
	 */
	entry = mock_domain_entry(mock, iova);
	if (WARN_ON(entry && (READ_ONCE(*entry) & MOCK_ENTRY_HUGE) &&
		    iova % MOCK_HUGE_PAGE_SIZE))
		return 0;
	while (done != size) {
		unsigned long i = ((iova + done) % MOCK_LEAF_SPAN) /
				  MOCK_IO_PAGE_SIZE;

		entry = mock_domain_entry(mock, iova + done);
		for (; i != MOCK_LEAF_ENTRIES && done != size;
		     i++, done += MOCK_IO_PAGE_SIZE, entry++) {
			u64 val = entry ? READ_ONCE(*entry) : 0;

			/* iommufd never unmaps what it did not map. */
			if (WARN_ON(!(val & MOCK_ENTRY_PRESENT)))
				return done;
			if ((val & MOCK_ENTRY_HUGE) &&
			    !((iova + done) % MOCK_HUGE_PAGE_SIZE) &&
			    size - done < MOCK_HUGE_PAGE_SIZE)
				size = done + MOCK_HUGE_PAGE_SIZE;
			WRITE_ONCE(*entry, 0);
		}
	}
	mock->unmapped += done / MOCK_IO_PAGE_SIZE;
	mock_domain_free_leaves(mock, iova, done);
	/* As VT-d, the top of what is mapped comes down with its unmap. */
	if (mock->max_mapped == iova + done)
		mock->max_mapped = iova;
	return done;
}

static phys_addr_t mock_domain_iova_to_phys(struct iommu_domain *domain,
					    dma_addr_t iova)
{
	struct mock_iommu_domain *mock = to_mock_domain(domain);
	u64 val = mock_domain_entry_read(mock, iova);

	if (WARN_ON(!mock->finished || !(val & MOCK_ENTRY_PRESENT)))
		return 0;
	return MOCK_ENTRY_ADDR(val) + iova % MOCK_IO_PAGE_SIZE;
}

static unsigned long mock_domain_iova_to_pfns(struct iommu_domain *domain,
					      unsigned long iova,
					      unsigned long npages,
					      unsigned long *pfns)
{
	struct mock_iommu_domain *mock = to_mock_domain(domain);
	unsigned long leaf_index = ULONG_MAX, done;
	u64 *leaf = NULL;

	if (WARN_ON(!mock->finished))
		return 0;
	rcu_read_lock();
	for (done = 0; done != npages; done++) {
		unsigned long cur = iova + done * PAGE_SIZE;
		u64 val;

		if (cur / MOCK_LEAF_SPAN != leaf_index) {
			leaf_index = cur / MOCK_LEAF_SPAN;
			leaf = xa_load(&mock->leaves, leaf_index);
			if (!leaf)
				break;
		}
		val = READ_ONCE(leaf[(cur % MOCK_LEAF_SPAN) / MOCK_IO_PAGE_SIZE]);
		if (!(val & MOCK_ENTRY_PRESENT))
			break;
		pfns[done] = PHYS_PFN(MOCK_ENTRY_ADDR(val) +
				      cur % MOCK_IO_PAGE_SIZE);
	}
	rcu_read_unlock();
	return done;
}

/*
 * As VT-d: not while a device that cannot snoop is attached, and not once
 * something is mapped, whose entries would stay without the snoop bit.
 */
static bool mock_domain_enforce_cache_coherency(struct iommu_domain *domain)
{
	struct mock_iommu_domain *mock = to_mock_domain(domain);
	bool enforced = true;

	spin_lock(&mock_attach_lock);
	if (!mock->enforce_cc) {
		enforced = !mock->no_snoop_devices && !mock->map_calls;
		mock->enforce_cc = enforced;
	}
	spin_unlock(&mock_attach_lock);
	return enforced;
}

static const struct iommu_domain_ops mock_domain_ops = {
	.attach_dev = mock_domain_attach_dev,
	.detach_dev = mock_domain_detach_dev,
	.enforce_cache_coherency = mock_domain_enforce_cache_coherency,
	.map_pages = mock_domain_map_pages,
	.unmap_pages = mock_domain_unmap_pages,
	.iova_to_phys = mock_domain_iova_to_phys,
	.iova_to_pfns = mock_domain_iova_to_pfns,
	.free = mock_domain_free,
};

/*
 * The entry that holds the dirty bit of the IO page at @iova: its own, or
 * the first of its huge page. Sets *@size to the IO page's size.
 */
static u64 *mock_domain_dirty_entry(struct mock_iommu_domain *mock,
				    unsigned long iova, unsigned long *size)
{
	u64 *entry = mock_domain_entry(mock, iova);

	*size = MOCK_IO_PAGE_SIZE;
	if (!entry || !(READ_ONCE(*entry) & MOCK_ENTRY_HUGE))
		return entry;
	*size = MOCK_HUGE_PAGE_SIZE;
	return mock_domain_entry(mock, ALIGN_DOWN(iova, MOCK_HUGE_PAGE_SIZE));
}

/* Change the dirty bit of a present entry; false if it is not present. */
static bool mock_entry_set_dirty(u64 *entry, bool dirty)
{
	u64 old = READ_ONCE(*entry), new;

	do {
		if (!(old & MOCK_ENTRY_PRESENT))
			return false;
		new = dirty ? old | MOCK_ENTRY_DIRTY : old & ~MOCK_ENTRY_DIRTY;
		if (new == old)
			return true;
	} while (!try_cmpxchg64(entry, &old, new));
	return true;
}

static int mock_domain_set_dirty_tracking(struct iommu_domain *domain,
					  bool enabled)
{
	WRITE_ONCE(to_mock_domain(domain)->dirty_tracking, enabled);
	return 0;
}

static int mock_domain_read_and_clear_dirty(struct iommu_domain *domain,
					    unsigned long iova, size_t size,
					    unsigned long flags,
					    struct iommu_dirty_bitmap *dirty)
{
	struct mock_iommu_domain *mock = to_mock_domain(domain);
	unsigned long last = iova + size - 1, cur = iova, page_size;

	/* Reading while not tracking is a caller bug; clearing is not. */
	if (dirty->bitmap && !READ_ONCE(mock->dirty_tracking))
		return -EINVAL;

	/*
	 * No RCU read section: recording may fault in the user's bitmap, and
	 * the caller's iova_rwsem already keeps out the unmaps that free.
	 */
	while (cur <= last) {
		u64 *entry = mock_domain_dirty_entry(mock, cur, &page_size);
		unsigned long start = ALIGN_DOWN(cur, page_size);

		if (entry && (READ_ONCE(*entry) & MOCK_ENTRY_DIRTY)) {
			iommu_dirty_bitmap_record(dirty, start, page_size);
			if (!(flags & IOMMU_DIRTY_NO_CLEAR))
				mock_entry_set_dirty(entry, false);
		}
		if (start + page_size - 1 >= last)
			break;
		cur = start + page_size;
	}
	return 0;
}

static const struct iommu_dirty_ops mock_dirty_ops = {
	.set_dirty_tracking = mock_domain_set_dirty_tracking,
	.read_and_clear_dirty = mock_domain_read_and_clear_dirty,
};

/*
 * For debugfs "iommufd/contexts": how many IO pages a mock domain maps, how
 * many of them with huge entries, how many it has unmapped since it was
 * made, and whether it was made a nest parent.
 */
void iommufd_test_show_domain(struct seq_file *m, struct iommu_domain *domain)
{
	struct mock_iommu_domain *mock;
	unsigned long index, i, n = 0, huge = 0;
	u64 *leaf;

	if (domain->ops != &mock_domain_ops)
		return;
	mock = to_mock_domain(domain);
	rcu_read_lock();
	xa_for_each(&mock->leaves, index, leaf) {
		for (i = 0; i != MOCK_LEAF_ENTRIES; i++) {
			u64 entry = READ_ONCE(leaf[i]);

			n += !!(entry & MOCK_ENTRY_PRESENT);
			huge += !!(entry & MOCK_ENTRY_HUGE);
		}
	}
	rcu_read_unlock();
	seq_printf(m, " mock_io_pages=%lu mock_huge_io_pages=%lu", n, huge);
	seq_printf(m, " mock_unmapped_io_pages=%lu", mock->unmapped);
	seq_printf(m, " mock_nest_parent=%d", mock->nest_parent);
}

#if IS_ENABLED(CONFIG_IOMMUFD_KUNIT_TEST)
/* For KUnit: a mock domain that belongs to no device. */
struct iommu_domain *iommufd_test_mock_domain_alloc(void)
{
	struct iommu_domain *domain = mock_domain_alloc(IOMMU_DOMAIN_UNMANAGED);

	if (!domain)
		return NULL;
	domain->type = IOMMU_DOMAIN_UNMANAGED;
	domain->ops = &mock_domain_ops;
	domain->pgsize_bitmap = MOCK_IO_PAGE_SIZE;
	domain->geometry.aperture_start = MOCK_APERTURE_START;
	domain->geometry.aperture_end = MOCK_APERTURE_LAST;
	to_mock_domain(domain)->finished = true;
	return domain;
}

/* For KUnit: how many IO pages, and map_pages() calls so far. */
unsigned long iommufd_test_mock_domain_count(struct iommu_domain *domain,
					     unsigned long *map_calls)
{
	struct mock_iommu_domain *mock = to_mock_domain(domain);

	*map_calls = mock->map_calls;
	return mock_domain_mapped(mock);
}
#endif

static void *mock_hw_info(struct device *dev, u32 *length, u32 *type)
{
	struct iommu_test_hw_info *info;

	info = kzalloc(sizeof(*info), GFP_KERNEL);
	if (!info)
		return ERR_PTR(-ENOMEM);
	info->test_reg = IOMMU_HW_INFO_SELFTEST_REGVAL;
	*length = sizeof(*info);
	*type = IOMMU_HW_INFO_TYPE_SELFTEST;
	return info;
}

/* See the debugfs switches at the top. */
static bool mock_share_group;
static bool mock_msi_window;
static bool mock_sw_msi;
static bool mock_no_snoop;
static bool mock_narrow;
#define MOCK_MSI_START (MOCK_APERTURE_START + SZ_256M)
#define MOCK_MSI_LENGTH SZ_1M

static void mock_get_resv_regions(struct device *dev, struct list_head *head);
/* The mock devices, newest last. */
static LIST_HEAD(mock_devs);
static DEFINE_MUTEX(mock_devs_lock);

static struct iommu_group *mock_device_group(struct device *dev);

static struct iommu_device mock_iommu;

static struct iommu_device *mock_probe_device(struct device *dev)
{
	return &mock_iommu;
}

static u32 mock_dev_flags(struct device *dev);

/*
 * The mock keeps DMA coherent and isolates MSIs, as remapping would, can
 * enforce coherency unless made with mock_no_snoop, and tracks dirty IOVAs
 * unless the device was made with MOCK_FLAGS_DEVICE_NO_DIRTY.
 */
static bool mock_capable(struct device *dev, enum iommu_cap cap)
{
	switch (cap) {
	case IOMMU_CAP_CACHE_COHERENCY:
	case IOMMU_CAP_INTR_REMAP:
		return true;
	case IOMMU_CAP_ENFORCE_CACHE_COHERENCY:
		return !to_mock_dev(dev)->no_snoop;
	case IOMMU_CAP_DIRTY_TRACKING:
		return !(mock_dev_flags(dev) & MOCK_FLAGS_DEVICE_NO_DIRTY);
	default:
		return false;
	}
}

/*
 * Every domain iommufd asks for. As upstream's mock, it can make a parent
 * for nesting: the flag changes nothing in this kernel, which makes no
 * nested domains, but the page table must then work as any other.
 */
static struct iommu_domain *mock_domain_alloc_flags(struct device *dev,
						    u32 flags)
{
	u32 dev_flags = mock_dev_flags(dev);
	struct iommu_domain *domain;

	if ((flags & IOMMU_DOMAIN_ALLOC_DIRTY_TRACKING) &&
	    (dev_flags & MOCK_FLAGS_DEVICE_NO_DIRTY))
		return ERR_PTR(-EOPNOTSUPP);
	domain = mock_domain_alloc(IOMMU_DOMAIN_UNMANAGED);
	if (!domain)
		return ERR_PTR(-ENOMEM);
	/*
	 * Shaped for @dev's IOMMU, but only at the first attach: huge pages
	 * come then, as VT-d's superpages, whichever device attaches.
	 */
	to_mock_domain(domain)->shaped = true;
	to_mock_domain(domain)->shaped_flags = dev_flags;
	to_mock_domain(domain)->shaped_narrow = to_mock_dev(dev)->narrow;
	domain->pgsize_bitmap = MOCK_IO_PAGE_SIZE;
	if (flags & IOMMU_DOMAIN_ALLOC_DIRTY_TRACKING)
		domain->dirty_ops = &mock_dirty_ops;
	to_mock_domain(domain)->nest_parent =
		flags & IOMMU_DOMAIN_ALLOC_NEST_PARENT;
	return domain;
}

static const struct iommu_ops mock_ops = {
	.owner = THIS_MODULE,
	.pgsize_bitmap = MOCK_IO_PAGE_SIZE,
	.capable = mock_capable,
	.hw_info = mock_hw_info,
	.domain_alloc = mock_domain_alloc,
	.domain_alloc_flags = mock_domain_alloc_flags,
	.probe_device = mock_probe_device,
	.device_group = mock_device_group,
	.get_resv_regions = mock_get_resv_regions,
	.default_domain_ops = &mock_domain_ops,
};

/*
 * The mock DMA driver: a driver of the mock bus that uses the DMA API (it
 * does not manage DMA itself), so that tests can see it refused on a device
 * whose group a context owns. It matches only while debugfs
 * "iommufd/mock_driver_match" is Y: mock devices stay driverless otherwise.
 */
static bool mock_driver_match;

static int mock_bus_match(struct device *dev, struct device_driver *drv)
{
	return READ_ONCE(mock_driver_match);
}

/* What the PCI and platform buses do for drivers using the DMA API. */
static int mock_bus_dma_configure(struct device *dev)
{
	return iommu_device_use_default_domain(dev);
}

static void mock_bus_dma_cleanup(struct device *dev)
{
	iommu_device_unuse_default_domain(dev);
}

static struct bus_type iommufd_mock_bus = {
	.name = "iommufd_mock",
	.iommu_ops = &mock_ops,
	.match = mock_bus_match,
	.dma_configure = mock_bus_dma_configure,
	.dma_cleanup = mock_bus_dma_cleanup,
};

static int mock_dma_driver_probe(struct device *dev)
{
	return 0;
}

static struct device_driver mock_dma_driver = {
	.name = "iommufd_mock_dma",
	.bus = &iommufd_mock_bus,
	.probe = mock_dma_driver_probe,
};

static DEFINE_IDA(mock_dev_ida);

/* The mock device @dev is, or NULL if it is another bus's. */
static struct mock_dev *to_mock_dev(struct device *dev)
{
	if (dev->bus != &iommufd_mock_bus)
		return NULL;
	return container_of(dev, struct mock_dev, dev);
}

/* The MOCK_FLAGS_DEVICE_* of a device of the mock bus. */
static u32 mock_dev_flags(struct device *dev)
{
	return container_of(dev, struct mock_dev, dev)->flags;
}

static void mock_add_resv_region(struct list_head *head, phys_addr_t start,
				 size_t length, enum iommu_resv_type type)
{
	struct iommu_resv_region *region;

	region = iommu_alloc_resv_region(start, length, 0, type, GFP_KERNEL);
	if (region)
		list_add_tail(&region->list, head);
}

static void mock_get_resv_regions(struct device *dev, struct list_head *head)
{
	struct mock_dev *mdev = to_mock_dev(dev);

	if (mdev->msi_window)
		mock_add_resv_region(head, MOCK_MSI_START, MOCK_MSI_LENGTH,
				     IOMMU_RESV_MSI);
	if (mdev->sw_msi)
		mock_add_resv_region(head, MOCK_SW_MSI_START,
				     MOCK_SW_MSI_LENGTH, IOMMU_RESV_SW_MSI);
}

/*
 * For IOMMU_GET_HW_INFO: the PASID width of a mock device, which stands in
 * for what the PCI PASID capability tells of a real one. False if @dev is
 * not a mock device.
 */
bool iommufd_test_device_pasid_log2(struct device *dev, u8 *log2)
{
	struct mock_dev *mdev = container_of(dev, struct mock_dev, dev);

	if (dev->bus != &iommufd_mock_bus)
		return false;
	*log2 = (mdev->flags & MOCK_FLAGS_DEVICE_PASID) ? MOCK_PASID_WIDTH : 0;
	return true;
}

static void mock_dev_release(struct device *dev)
{
	struct mock_dev *mdev = container_of(dev, struct mock_dev, dev);

	ida_free(&mock_dev_ida, mdev->id);
	kfree(mdev);
}

static struct iommu_group *mock_device_group(struct device *dev)
{
	struct mock_dev *mdev = to_mock_dev(dev);
	struct iommu_group *group = NULL;
	struct mock_dev *last;

	if (mdev->group_with)
		return iommu_group_get(&mdev->group_with->dev);
	mutex_lock(&mock_devs_lock);
	if (READ_ONCE(mock_share_group) && !list_empty(&mock_devs)) {
		last = list_last_entry(&mock_devs, struct mock_dev, item);
		group = iommu_group_get(&last->dev);
	}
	mutex_unlock(&mock_devs_lock);
	return group ?: generic_device_group(dev);
}

/*
 * A new device on the mock bus, with its own IOMMU group or that of
 * @group_with; with MOCK_FLAGS_DEVICE_PASID it supports MOCK_PASID_WIDTH
 * bits of PASID.
 */
static struct mock_dev *mock_dev_create_in(u32 flags,
					   struct mock_dev *group_with)
{
	struct mock_dev *mdev;
	int rc;

	mdev = kzalloc(sizeof(*mdev), GFP_KERNEL);
	if (!mdev)
		return ERR_PTR(-ENOMEM);
	mdev->id = ida_alloc(&mock_dev_ida, GFP_KERNEL);
	if (mdev->id < 0) {
		rc = mdev->id;
		kfree(mdev);
		return ERR_PTR(rc);
	}
	mdev->flags = flags;
	mdev->msi_window = READ_ONCE(mock_msi_window);
	mdev->sw_msi = READ_ONCE(mock_sw_msi);
	mdev->no_snoop = READ_ONCE(mock_no_snoop);
	mdev->narrow = READ_ONCE(mock_narrow);
	mdev->group_with = group_with;
	device_initialize(&mdev->dev);
	mdev->dev.release = mock_dev_release;
	mdev->dev.bus = &iommufd_mock_bus;
	rc = dev_set_name(&mdev->dev, "iommufd_mock%d", mdev->id);
	if (rc)
		goto err_put;
	rc = device_add(&mdev->dev);
	if (rc)
		goto err_put;
	/* No bus notifier runs for this bus: probe the IOMMU by hand. */
	rc = iommu_probe_device(&mdev->dev);
	if (rc)
		goto err_del;
	mutex_lock(&mock_devs_lock);
	list_add_tail(&mdev->item, &mock_devs);
	mutex_unlock(&mock_devs_lock);
	return mdev;

err_del:
	device_del(&mdev->dev);
err_put:
	put_device(&mdev->dev);
	return ERR_PTR(rc);
}

static struct mock_dev *mock_dev_create(u32 flags)
{
	return mock_dev_create_in(flags, NULL);
}

static void mock_dev_destroy(struct mock_dev *mdev)
{
	mutex_lock(&mock_devs_lock);
	list_del(&mdev->item);
	mutex_unlock(&mock_devs_lock);
	/* The IOMMU core does not detach a released device: leave here. */
	spin_lock(&mock_attach_lock);
	mock_dev_leave_domain(mdev);
	spin_unlock(&mock_attach_lock);
	iommu_release_device(&mdev->dev);
	device_unregister(&mdev->dev);
}

#if IS_ENABLED(CONFIG_IOMMUFD_KUNIT_TEST)
/**
 * iommufd_test_mock_device_create - a device of the mock IOMMU, for KUnit
 * @group_with: a device made here whose IOMMU group it joins, or NULL for
 *	a group of its own
 *
 * Return: the device, or an ERR_PTR.
 */
struct device *iommufd_test_mock_device_create(struct device *group_with)
{
	struct mock_dev *mdev;

	mdev = mock_dev_create_in(0, group_with ? to_mock_dev(group_with) :
						  NULL);
	return IS_ERR(mdev) ? ERR_CAST(mdev) : &mdev->dev;
}

/**
 * iommufd_test_mock_device_domain - the paging domain a mock device is on
 * @dev: a device of the mock IOMMU
 *
 * Return: the mock domain @dev is attached to, or NULL (blocked or the
 * group's default).
 */
struct iommu_domain *iommufd_test_mock_device_domain(struct device *dev)
{
	struct mock_dev *mdev = to_mock_dev(dev);
	struct iommu_domain *domain = NULL;

	spin_lock(&mock_attach_lock);
	if (mdev->domain)
		domain = &mdev->domain->domain;
	spin_unlock(&mock_attach_lock);
	return domain;
}

/**
 * iommufd_test_mock_device_destroy - undo iommufd_test_mock_device_create()
 * @dev: the device
 */
void iommufd_test_mock_device_destroy(struct device *dev)
{
	mock_dev_destroy(to_mock_dev(dev));
}
#endif

void iommufd_selftest_destroy(struct iommufd_object *obj)
{
	struct iommufd_selftest_object *sobj =
		container_of(obj, struct iommufd_selftest_object, obj);

	if (sobj->held)
		refcount_dec(&sobj->held->users);
	if (sobj->idev) {
		if (sobj->idev->hwpt)
			iommufd_device_detach(sobj->idev);
		iommufd_device_unbind(sobj->idev);
	}
	if (sobj->mdev)
		mock_dev_destroy(sobj->mdev);
}

/*
 * A mock device bound to the context and attached to the IOAS or the page
 * table @cmd->id names, with MOCK_FLAGS_DEVICE_* @dev_flags.
 */
static int iommufd_test_mock_domain(struct iommufd_ucmd *ucmd,
				    struct iommu_test_cmd *cmd, u32 dev_flags)
{
	struct iommufd_selftest_object *sobj;
	u32 idev_id, pt_id = cmd->id;
	int rc;

	if (dev_flags & ~(MOCK_FLAGS_DEVICE_NO_DIRTY |
			  MOCK_FLAGS_DEVICE_HUGE_IOVA | MOCK_FLAGS_DEVICE_PASID))
		return -EINVAL;

	sobj = iommufd_object_alloc(ucmd->ictx, sobj, IOMMUFD_OBJ_SELFTEST);
	if (IS_ERR(sobj))
		return PTR_ERR(sobj);

	sobj->mdev = mock_dev_create(dev_flags);
	if (IS_ERR(sobj->mdev)) {
		rc = PTR_ERR(sobj->mdev);
		sobj->mdev = NULL;
		goto out_destroy;
	}
	sobj->idev = iommufd_device_bind(ucmd->ictx, &sobj->mdev->dev,
					 &idev_id);
	if (IS_ERR(sobj->idev)) {
		rc = PTR_ERR(sobj->idev);
		sobj->idev = NULL;
		goto out_destroy;
	}
	rc = iommufd_device_attach(sobj->idev, &pt_id);
	if (rc)
		goto out_destroy;

	/* mock_domain_flags begins with the same three outputs. */
	cmd->mock_domain.out_stdev_id = sobj->obj.id;
	cmd->mock_domain.out_hwpt_id = pt_id;
	cmd->mock_domain.out_idev_id = idev_id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto out_destroy;
	iommufd_object_finalize(ucmd->ictx, &sobj->obj);
	return 0;

out_destroy:
	iommufd_object_abort_and_destroy(ucmd->ictx, &sobj->obj);
	return rc;
}

/* Move mock device @stdev_id to the IOAS or page table @pt_id. */
static int iommufd_test_mock_domain_replace(struct iommufd_ucmd *ucmd,
					    u32 stdev_id, u32 pt_id)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;
	struct iommufd_selftest_object *sobj;
	struct iommufd_object *obj;
	int rc;

	obj = iommufd_get_object(ucmd->ictx, stdev_id, IOMMUFD_OBJ_SELFTEST);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	sobj = container_of(obj, struct iommufd_selftest_object, obj);
	if (!sobj->idev) {
		rc = -EINVAL;
		goto out_put;
	}
	rc = iommufd_device_replace(sobj->idev, &pt_id);
	if (rc)
		goto out_put;
	cmd->mock_domain_replace.pt_id = pt_id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out_put:
	iommufd_put_object(ucmd->ictx, obj);
	return rc;
}

/* The PFN of the page at user address @uaddr, or a negative errno. */
static long iommufd_test_user_pfn(unsigned long uaddr)
{
	struct page *page;
	unsigned long pfn;
	int rc;

	rc = get_user_pages_fast(uaddr & PAGE_MASK, 1, 0, &page);
	if (rc < 0)
		return rc;
	pfn = page_to_pfn(page);
	put_page(page);
	return pfn;
}

/* A mock domain: every IO page's entry, exactly. */
static int iommufd_test_check_mock_map(struct mock_iommu_domain *mock,
				       unsigned long iova, size_t length,
				       unsigned long uaddr)
{
	if (iova % MOCK_IO_PAGE_SIZE || length % MOCK_IO_PAGE_SIZE ||
	    uaddr % MOCK_IO_PAGE_SIZE)
		return -EINVAL;

	for (; length; length -= MOCK_IO_PAGE_SIZE) {
		long pfn = iommufd_test_user_pfn(uaddr);
		phys_addr_t want;
		u64 val;

		if (pfn < 0)
			return pfn;
		want = PFN_PHYS(pfn) + uaddr % PAGE_SIZE;
		val = mock_domain_entry_read(mock, iova);
		if (!(val & MOCK_ENTRY_PRESENT) || MOCK_ENTRY_ADDR(val) != want)
			return -EINVAL;
		iova += MOCK_IO_PAGE_SIZE;
		uaddr += MOCK_IO_PAGE_SIZE;
	}
	return 0;
}

/*
 * Any other domain, such as a real IOMMU's: whole CPU pages, read back with
 * iommu_iova_to_pfns() over the whole range at once, so that the driver's
 * walk across its page table is what gets checked.
 */
static int iommufd_test_check_domain_map(struct iommu_domain *domain,
					 unsigned long iova, size_t length,
					 unsigned long uaddr)
{
	unsigned long npages = length / PAGE_SIZE, i, *pfns;
	int rc = 0;

	if ((iova | length | uaddr) % PAGE_SIZE || !npages ||
	    npages > SZ_64M / PAGE_SIZE)
		return -EINVAL;
	pfns = kvcalloc(npages, sizeof(*pfns), GFP_KERNEL);
	if (!pfns)
		return -ENOMEM;
	if (iommu_iova_to_pfns(domain, iova, npages, pfns) != npages) {
		rc = -EINVAL;
		goto out_free;
	}
	for (i = 0; i != npages; i++) {
		long pfn = iommufd_test_user_pfn(uaddr + i * PAGE_SIZE);

		if (pfn < 0 || (unsigned long)pfn != pfns[i]) {
			rc = pfn < 0 ? pfn : -EINVAL;
			break;
		}
	}
out_free:
	kvfree(pfns);
	return rc;
}

/* Check that page table @hwpt_id maps the IOVA range to @uptr. */
static int iommufd_test_check_map(struct iommufd_ucmd *ucmd, u32 hwpt_id,
				  unsigned long iova, size_t length,
				  void __user *uptr)
{
	struct iommufd_hw_pagetable *hwpt;
	struct iommufd_object *obj;
	int rc;

	obj = iommufd_get_object(ucmd->ictx, hwpt_id, IOMMUFD_OBJ_HW_PAGETABLE);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	hwpt = container_of(obj, struct iommufd_hw_pagetable, obj);
	if (hwpt->domain->ops == &mock_domain_ops)
		rc = iommufd_test_check_mock_map(to_mock_domain(hwpt->domain),
						 iova, length,
						 (unsigned long)uptr);
	else
		rc = iommufd_test_check_domain_map(hwpt->domain, iova, length,
						   (unsigned long)uptr);
	iommufd_put_object(ucmd->ictx, obj);
	return rc;
}

/*
 * Check that every page of [uptr, uptr + length) is pinned exactly refs
 * times. Compound pages are skipped: their pin count lives elsewhere.
 */
static int iommufd_test_check_refs(void __user *uptr, size_t length,
				   unsigned int refs)
{
	unsigned long addr = (unsigned long)uptr, end;

	if (length % PAGE_SIZE || addr % PAGE_SIZE ||
	    check_add_overflow(addr, length, &end))
		return -EINVAL;

	for (; addr != end; addr += PAGE_SIZE) {
		struct page *page;
		int rc;

		rc = get_user_pages_fast(addr, 1, 0, &page);
		if (rc < 0)
			return rc;
		if (WARN_ON(rc != 1))
			return -EFAULT;
		if (!PageCompound(page) &&
		    page_ref_count(page) / GUP_PIN_COUNTING_BIAS != refs)
			rc = -EIO;
		put_page(page);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Reserve an IOVA range of IOAS @id, as a device's MSI window would. */
static int iommufd_test_add_reserved(struct iommufd_ucmd *ucmd, u32 id,
				     unsigned long start, unsigned long length)
{
	struct iommufd_ioas *ioas;
	unsigned long last;
	int rc;

	if (!length || check_add_overflow(start, length - 1, &last))
		return -EINVAL;

	ioas = iommufd_get_ioas(ucmd->ictx, id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	down_write(&ioas->iopt.iova_rwsem);
	rc = iopt_reserve_iova(&ioas->iopt, start, last, NULL);
	up_write(&ioas->iopt.iova_rwsem);
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/*
 * Test accesses
 * =============
 *
 * IOMMU_TEST_OP_CREATE_ACCESS makes an access owned by a file descriptor,
 * like a driver's: closing the descriptor destroys it. Each successful
 * IOMMU_TEST_OP_ACCESS_PAGES is remembered as an item with an ID, undone by
 * IOMMU_TEST_OP_DESTROY_ACCESS_PAGES or by the unmap callback, which drops
 * every item overlapping the range unmapped.
 */
struct selftest_access {
	struct iommufd_access *access;
	/* Serializes pins against the unmap callback; protects items. */
	struct mutex lock;
	struct xarray items;
};

struct selftest_access_item {
	unsigned long iova;
	unsigned long length;
};

static void iommufd_test_access_unmap(void *data, unsigned long iova,
				      unsigned long length)
{
	struct selftest_access *staccess = data;
	unsigned long last = iova + length - 1;
	struct selftest_access_item *item;
	unsigned long index;

	mutex_lock(&staccess->lock);
	xa_for_each(&staccess->items, index, item) {
		if (item->iova > last || item->iova + item->length - 1 < iova)
			continue;
		iommufd_access_unpin_pages(staccess->access, item->iova,
					   item->length);
		xa_erase(&staccess->items, index);
		kfree(item);
	}
	mutex_unlock(&staccess->lock);
}

static const struct iommufd_access_ops selftest_access_ops_pin = {
	.needs_pin_pages = 1,
	.unmap = iommufd_test_access_unmap,
};

static const struct iommufd_access_ops selftest_access_ops = {
	.unmap = iommufd_test_access_unmap,
};

static int iommufd_test_staccess_release(struct inode *inode,
					 struct file *filp)
{
	struct selftest_access *staccess = filp->private_data;

	/* Detaching asks the callback to drop every item. */
	if (staccess->access)
		iommufd_access_destroy(staccess->access);
	WARN_ON(!xa_empty(&staccess->items));
	xa_destroy(&staccess->items);
	mutex_destroy(&staccess->lock);
	kfree(staccess);
	return 0;
}

static const struct file_operations iommufd_test_staccess_fops = {
	.release = iommufd_test_staccess_release,
};

/* The test access behind file descriptor @fd; fput() it when done. */
static struct selftest_access *
iommufd_test_get_staccess(unsigned int fd, struct file **filp)
{
	struct file *file = fget(fd);

	if (!file)
		return ERR_PTR(-EBADF);
	if (file->f_op != &iommufd_test_staccess_fops) {
		fput(file);
		return ERR_PTR(-EBADF);
	}
	*filp = file;
	return file->private_data;
}

static int iommufd_test_create_access(struct iommufd_ucmd *ucmd, u32 ioas_id,
				      unsigned int flags)
{
	const struct iommufd_access_ops *ops;
	struct iommu_test_cmd *cmd = ucmd->cmd;
	struct selftest_access *staccess;
	struct file *file;
	int fd, rc;
	u32 id;

	if (flags & ~MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES)
		return -EOPNOTSUPP;

	staccess = kzalloc(sizeof(*staccess), GFP_KERNEL_ACCOUNT);
	if (!staccess)
		return -ENOMEM;
	mutex_init(&staccess->lock);
	xa_init_flags(&staccess->items, XA_FLAGS_ALLOC1);

	/* From here on the file's release frees staccess. */
	file = anon_inode_getfile("[iommufd_test_staccess]",
				  &iommufd_test_staccess_fops, staccess,
				  O_RDWR);
	if (IS_ERR(file)) {
		xa_destroy(&staccess->items);
		mutex_destroy(&staccess->lock);
		kfree(staccess);
		return PTR_ERR(file);
	}
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		rc = fd;
		goto out_fput;
	}

	ops = (flags & MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES) ?
		      &selftest_access_ops_pin : &selftest_access_ops;
	staccess->access = iommufd_access_create(ucmd->ictx, ops, staccess,
						 &id);
	if (IS_ERR(staccess->access)) {
		rc = PTR_ERR(staccess->access);
		staccess->access = NULL;
		goto out_put_fd;
	}
	rc = iommufd_access_attach(staccess->access, ioas_id);
	if (rc)
		goto out_put_fd;

	cmd->create_access.out_access_fd = fd;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto out_put_fd;
	fd_install(fd, file);
	return 0;

out_put_fd:
	put_unused_fd(fd);
out_fput:
	fput(file);
	return rc;
}

static int iommufd_test_access_replace_ioas(unsigned int fd, u32 ioas_id)
{
	struct selftest_access *staccess;
	struct file *file;
	int rc;

	staccess = iommufd_test_get_staccess(fd, &file);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);
	rc = iommufd_access_replace(staccess->access, ioas_id);
	fput(file);
	return rc;
}

/* The pinned pages must be those userspace sees at @uptr. */
static int iommufd_test_check_pages(unsigned long uptr, struct page **pages,
				    unsigned long npages)
{
	int rc = 0;

	for (; npages; npages--, pages++, uptr += PAGE_SIZE) {
		struct page *page;

		if (get_user_pages_fast(uptr, 1, 0, &page) != 1)
			return -EFAULT;
		if (page != *pages)
			rc = -EBADE;
		put_page(page);
		if (rc)
			return rc;
	}
	return 0;
}

static int iommufd_test_access_pages(struct iommufd_ucmd *ucmd,
				     unsigned int fd, unsigned long iova,
				     size_t length, void __user *uptr,
				     u32 flags)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;
	struct selftest_access_item *item;
	struct selftest_access *staccess;
	unsigned long npages, end;
	struct page **pages;
	struct file *file;
	u32 id;
	int rc;

	if (flags & ~(MOCK_FLAGS_ACCESS_WRITE | MOCK_FLAGS_ACCESS_SYZ))
		return -EOPNOTSUPP;
	if (!length || check_add_overflow(iova, length, &end))
		return -EINVAL;
	/*
	 * Counted to the last byte: ALIGN(end) wraps to 0 for a range that
	 * ends in the last page, which made 0 pages of a range from page 0
	 * (and a ZERO_SIZE_PTR array the pin wrote to).
	 */
	npages = ((end - 1) >> PAGE_SHIFT) - (iova >> PAGE_SHIFT) + 1;
	/* Keep the page array a sane size. */
	if (npages > SZ_16M / sizeof(*pages))
		return -ENOMEM;

	staccess = iommufd_test_get_staccess(fd, &file);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);
	if (staccess->access->ops != &selftest_access_ops_pin) {
		rc = -EOPNOTSUPP;
		goto out_fput;
	}

	pages = kvcalloc(npages, sizeof(*pages), GFP_KERNEL_ACCOUNT);
	item = kzalloc(sizeof(*item), GFP_KERNEL_ACCOUNT);
	if (!pages || !item) {
		rc = -ENOMEM;
		goto out_free;
	}

	/* The unmap callback cannot run between the pin and the item. */
	mutex_lock(&staccess->lock);
	rc = iommufd_access_pin_pages(staccess->access, iova, length, pages,
				      (flags & MOCK_FLAGS_ACCESS_WRITE) ?
					      IOMMUFD_ACCESS_RW_WRITE : 0);
	if (rc)
		goto out_unlock;
	/* Fuzzers (MOCK_FLAGS_ACCESS_SYZ) pass no uptr to check against. */
	if (uptr) {
		rc = iommufd_test_check_pages(ALIGN_DOWN((unsigned long)uptr,
							 PAGE_SIZE),
					      pages, npages);
		if (rc)
			goto out_unpin;
	}
	item->iova = iova;
	item->length = length;
	rc = xa_alloc(&staccess->items, &id, item, xa_limit_31b,
		      GFP_KERNEL_ACCOUNT);
	if (rc)
		goto out_unpin;
	cmd->access_pages.out_access_pages_id = id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc) {
		xa_erase(&staccess->items, id);
		goto out_unpin;
	}
	item = NULL;
	goto out_unlock;

out_unpin:
	iommufd_access_unpin_pages(staccess->access, iova, length);
out_unlock:
	mutex_unlock(&staccess->lock);
out_free:
	kfree(item);
	kvfree(pages);
out_fput:
	fput(file);
	return rc;
}

static int iommufd_test_destroy_access_pages(unsigned int fd, u32 id)
{
	struct selftest_access_item *item;
	struct selftest_access *staccess;
	struct file *file;

	staccess = iommufd_test_get_staccess(fd, &file);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);

	mutex_lock(&staccess->lock);
	item = xa_erase(&staccess->items, id);
	if (item)
		iommufd_access_unpin_pages(staccess->access, item->iova,
					   item->length);
	mutex_unlock(&staccess->lock);
	fput(file);
	kfree(item);
	return item ? 0 : -ENOENT;
}

/* Larger copies are refused: the bounce buffer is a kernel allocation. */
#define IOMMUFD_TEST_MAX_RW (16 * 1024 * 1024)

static int iommufd_test_access_rw(unsigned int fd, unsigned long iova,
				  size_t length, void __user *uptr, u32 flags)
{
	struct selftest_access *staccess;
	unsigned int rw_flags = 0;
	struct file *file;
	void *buf;
	int rc;

	if (flags & ~(MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH))
		return -EOPNOTSUPP;
	if (length > IOMMUFD_TEST_MAX_RW)
		return -ENOMEM;
	if (flags & MOCK_ACCESS_RW_WRITE)
		rw_flags |= IOMMUFD_ACCESS_RW_WRITE;
	if (flags & MOCK_ACCESS_RW_SLOW_PATH)
		rw_flags |= __IOMMUFD_ACCESS_RW_SLOW_PATH;

	staccess = iommufd_test_get_staccess(fd, &file);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);

	buf = kvzalloc(length, GFP_KERNEL_ACCOUNT);
	if (!buf) {
		rc = -ENOMEM;
		goto out_fput;
	}
	if ((flags & MOCK_ACCESS_RW_WRITE) && copy_from_user(buf, uptr, length)) {
		rc = -EFAULT;
		goto out_free;
	}
	rc = iommufd_access_rw(staccess->access, iova, buf, length, rw_flags);
	if (!rc && !(flags & MOCK_ACCESS_RW_WRITE) &&
	    copy_to_user(uptr, buf, length))
		rc = -EFAULT;
out_free:
	kvfree(buf);
out_fput:
	fput(file);
	return rc;
}

/*
 * IOMMU_TEST_OP_DIRTY: the device writes the IO pages of mock page table
 * @hwpt_id whose bits are set in the user bitmap at @uptr (one bit per
 * @page_size of IOVA from @iova), which marks them dirty. Answers how many
 * bits hit a mapped IO page. The bitmap is read a page at a time.
 */
static int iommufd_test_dirty(struct iommufd_ucmd *ucmd, u32 hwpt_id,
			      unsigned long iova, size_t length,
			      unsigned long page_size, void __user *uptr,
			      u32 flags)
{
	const unsigned long chunk_bits = PAGE_SIZE * BITS_PER_BYTE;
	struct iommu_test_cmd *cmd = ucmd->cmd;
	struct iommufd_hw_pagetable *hwpt;
	struct iommufd_object *obj;
	struct mock_iommu_domain *mock;
	unsigned long nbits, i, last, count = 0;
	unsigned long *chunk;
	int rc;

	if (flags || !page_size || !length || iova % page_size ||
	    length % page_size || !uptr)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last) ||
	    last > MOCK_APERTURE_LAST)
		return -EINVAL;

	obj = iommufd_get_object(ucmd->ictx, hwpt_id, IOMMUFD_OBJ_HW_PAGETABLE);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	hwpt = container_of(obj, struct iommufd_hw_pagetable, obj);
	mock = to_mock_domain(hwpt->domain);
	if (hwpt->domain->ops != &mock_domain_ops ||
	    !READ_ONCE(mock->dirty_tracking)) {
		rc = -EINVAL;
		goto out_put;
	}

	chunk = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!chunk) {
		rc = -ENOMEM;
		goto out_put;
	}
	nbits = length / page_size;
	for (i = 0; i < nbits; i += chunk_bits) {
		unsigned long n = min(nbits - i, chunk_bits), bit;

		if (copy_from_user(chunk, uptr + i / BITS_PER_BYTE,
				   DIV_ROUND_UP(n, BITS_PER_BYTE))) {
			rc = -EFAULT;
			goto out_free;
		}
		rcu_read_lock();
		for_each_set_bit(bit, chunk, n) {
			unsigned long size;
			u64 *entry = mock_domain_dirty_entry(mock,
						iova + (i + bit) * page_size,
						&size);

			if (entry && mock_entry_set_dirty(entry, true))
				count++;
		}
		rcu_read_unlock();
		cond_resched();
	}
	cmd->dirty.out_nr_dirty = count;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out_free:
	kfree(chunk);
out_put:
	iommufd_put_object(ucmd->ictx, obj);
	return rc;
}

/**
 * iommufd_test - the IOMMU_TEST_CMD ioctl
 * @ucmd: the ioctl call
 *
 * Return: 0 or a negative errno, -EOPNOTSUPP for an unknown operation.
 */
int iommufd_test(struct iommufd_ucmd *ucmd)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;

	if (cmd->__reserved || cmd->last)
		return -EINVAL;

	switch (cmd->op) {
	case IOMMU_TEST_OP_ADD_RESERVED:
		return iommufd_test_add_reserved(ucmd, cmd->id,
						 cmd->add_reserved.start,
						 cmd->add_reserved.length);
	case IOMMU_TEST_OP_MOCK_DOMAIN:
		return iommufd_test_mock_domain(ucmd, cmd, 0);
	case IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS:
		return iommufd_test_mock_domain(ucmd, cmd,
						cmd->mock_domain_flags.dev_flags);
	case IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE:
		return iommufd_test_mock_domain_replace(ucmd, cmd->id,
							cmd->mock_domain_replace.pt_id);
	case IOMMU_TEST_OP_MD_CHECK_MAP:
		return iommufd_test_check_map(ucmd, cmd->id, cmd->check_map.iova,
					      cmd->check_map.length,
					      u64_to_user_ptr(cmd->check_map.uptr));
	case IOMMU_TEST_OP_MD_CHECK_REFS:
		return iommufd_test_check_refs(u64_to_user_ptr(cmd->check_refs.uptr),
					       cmd->check_refs.length,
					       cmd->check_refs.refs);
	case IOMMU_TEST_OP_CREATE_ACCESS:
		return iommufd_test_create_access(ucmd, cmd->id,
						  cmd->create_access.flags);
	case IOMMU_TEST_OP_ACCESS_REPLACE_IOAS:
		return iommufd_test_access_replace_ioas(cmd->id,
							cmd->access_replace_ioas.ioas_id);
	case IOMMU_TEST_OP_ACCESS_PAGES:
		return iommufd_test_access_pages(ucmd, cmd->id,
						 cmd->access_pages.iova,
						 cmd->access_pages.length,
						 u64_to_user_ptr(cmd->access_pages.uptr),
						 cmd->access_pages.flags);
	case IOMMU_TEST_OP_DESTROY_ACCESS_PAGES:
		return iommufd_test_destroy_access_pages(cmd->id,
							 cmd->destroy_access_pages.access_pages_id);
	case IOMMU_TEST_OP_ACCESS_RW:
		return iommufd_test_access_rw(cmd->id, cmd->access_rw.iova,
					      cmd->access_rw.length,
					      u64_to_user_ptr(cmd->access_rw.uptr),
					      cmd->access_rw.flags);
	case IOMMU_TEST_OP_DIRTY:
		return iommufd_test_dirty(ucmd, cmd->id, cmd->dirty.iova,
					  cmd->dirty.length,
					  cmd->dirty.page_size,
					  u64_to_user_ptr(cmd->dirty.uptr),
					  cmd->dirty.flags);
	case IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT:
		/* A batch must hold at least one entry. */
		if (cmd->memory_limit.limit < sizeof(unsigned long) + sizeof(u32))
			return -EINVAL;
		iommufd_test_memory_limit = cmd->memory_limit.limit;
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

/* Read one byte past the end of a 16-byte allocation, for KASAN to catch. */
static noinline void iommufd_test_inject_kasan(void)
{
	char *buf = kmalloc(16, GFP_KERNEL);
	size_t index = 16;

	if (!buf)
		return;
	OPTIMIZER_HIDE_VAR(index);
	pr_info("harness self-test: reading byte %zu of a 16-byte buffer\n",
		index);
	pr_info("harness self-test: read %d\n", READ_ONCE(buf[index]));
	kfree(buf);
}

static noinline void iommufd_test_inject_leak(void)
{
	unsigned int i;

	/*
	 * Forget every pointer; kmemleak reports them on its next scan. A
	 * stale copy of the last one may linger on this kernel stack, where
	 * kmemleak would find it, so leak several, of a size few others use.
	 */
	for (i = 0; i != 16; i++) {
		void *buf = kzalloc(1000, GFP_KERNEL);

		OPTIMIZER_HIDE_VAR(buf);
	}
	pr_info("harness self-test: leaked 16 objects\n");
}

static ssize_t iommufd_test_inject_write(struct file *file,
					 const char __user *ubuf, size_t count,
					 loff_t *ppos)
{
	char what[16] = {};

	if (count >= sizeof(what))
		return -EINVAL;
	if (copy_from_user(what, ubuf, count))
		return -EFAULT;
	strim(what);

	if (!strcmp(what, "warn"))
		WARN(1, "iommufd: harness self-test WARN\n");
	else if (!strcmp(what, "kasan"))
		iommufd_test_inject_kasan();
	else if (!strcmp(what, "leak"))
		iommufd_test_inject_leak();
	else
		return -EINVAL;
	return count;
}

static const struct file_operations iommufd_test_inject_fops = {
	.write = iommufd_test_inject_write,
	.llseek = noop_llseek,
};

/*
 * "bench_pin": one range pinned at a time, owned by the open file that
 * pinned it and unpinned at the latest when that file is closed.
 */
static DEFINE_MUTEX(bench_pin_lock);
static struct file *bench_pin_owner;
static struct page **bench_pin_pages;
static unsigned long bench_pin_npages;

/* Pages per pin_user_pages_fast() call: it walks with interrupts off. */
#define BENCH_PIN_BATCH 512UL

/**
 * iommufd_test_bench_pin() - pin a user range for the "bench_pin" file
 * @file: the open debugfs file that will own the pins
 * @uaddr: page-aligned user address
 * @length: length in bytes, a multiple of PAGE_SIZE
 *
 * Pins every page of the range writable and long-term, as iommufd pins
 * memory for a device, and keeps the page pointers for
 * iommufd_test_bench_unpin(). Caller holds bench_pin_lock.
 *
 * Return: 0, -EBUSY if a range is pinned already, or a negative errno
 * with nothing pinned.
 */
static int iommufd_test_bench_pin(struct file *file, unsigned long uaddr,
				  unsigned long length)
{
	unsigned long npages = length >> PAGE_SHIFT, done = 0, end;
	struct page **pages;
	int rc;

	lockdep_assert_held(&bench_pin_lock);
	if (bench_pin_pages)
		return -EBUSY;
	if (!length || !PAGE_ALIGNED(uaddr) || !PAGE_ALIGNED(length) ||
	    check_add_overflow(uaddr, length, &end))
		return -EINVAL;

	pages = kvmalloc_array(npages, sizeof(*pages),
			       GFP_KERNEL | __GFP_NOWARN);
	if (!pages)
		return -ENOMEM;
	while (done != npages) {
		rc = pin_user_pages_fast(uaddr + done * PAGE_SIZE,
					 min(npages - done, BENCH_PIN_BATCH),
					 FOLL_WRITE | FOLL_LONGTERM,
					 pages + done);
		if (rc <= 0) {
			unpin_user_pages(pages, done);
			kvfree(pages);
			return rc ? rc : -EFAULT;
		}
		done += rc;
		cond_resched();
	}
	bench_pin_owner = file;
	bench_pin_pages = pages;
	bench_pin_npages = npages;
	return 0;
}

/**
 * iommufd_test_bench_unpin() - unpin what iommufd_test_bench_pin() pinned
 * @file: the open debugfs file
 *
 * Caller holds bench_pin_lock.
 *
 * Return: 0, or -ENOENT if @file has nothing pinned.
 */
static int iommufd_test_bench_unpin(struct file *file)
{
	lockdep_assert_held(&bench_pin_lock);
	if (!bench_pin_pages || bench_pin_owner != file)
		return -ENOENT;
	unpin_user_pages(bench_pin_pages, bench_pin_npages);
	kvfree(bench_pin_pages);
	bench_pin_pages = NULL;
	bench_pin_npages = 0;
	bench_pin_owner = NULL;
	return 0;
}

static ssize_t iommufd_test_bench_pin_write(struct file *file,
					    const char __user *ubuf,
					    size_t count, loff_t *ppos)
{
	unsigned long uaddr, length;
	char cmd[64] = {};
	int rc;

	if (count >= sizeof(cmd))
		return -EINVAL;
	if (copy_from_user(cmd, ubuf, count))
		return -EFAULT;

	mutex_lock(&bench_pin_lock);
	if (!strcmp(strim(cmd), "unpin"))
		rc = iommufd_test_bench_unpin(file);
	else if (sscanf(cmd, "pin %lx %lx", &uaddr, &length) == 2)
		rc = iommufd_test_bench_pin(file, uaddr, length);
	else
		rc = -EINVAL;
	mutex_unlock(&bench_pin_lock);
	return rc ? rc : count;
}

static int iommufd_test_bench_pin_release(struct inode *inode,
					  struct file *file)
{
	mutex_lock(&bench_pin_lock);
	iommufd_test_bench_unpin(file);
	mutex_unlock(&bench_pin_lock);
	return 0;
}

static const struct file_operations iommufd_test_bench_pin_fops = {
	.owner = THIS_MODULE,
	.write = iommufd_test_bench_pin_write,
	.release = iommufd_test_bench_pin_release,
	.llseek = noop_llseek,
};

/*
 * "bench_devices": each open file holds a list of the devices it made, set
 * up at open, so that holding a device allocates nothing the benchmark
 * would count as the device's. bench_devices_lock protects the lists.
 */
#define BENCH_DEVICES_MAX 100000UL	/* per write */
static DEFINE_MUTEX(bench_devices_lock);

struct iommufd_test_bench_devices {
	struct list_head devices;	/* mock_dev.bench_item, newest last */
};

static int iommufd_test_bench_devices_open(struct inode *inode,
					   struct file *file)
{
	struct iommufd_test_bench_devices *held;

	held = kzalloc(sizeof(*held), GFP_KERNEL);
	if (!held)
		return -ENOMEM;
	INIT_LIST_HEAD(&held->devices);
	file->private_data = held;
	return 0;
}

/* Destroy the @n newest devices of @held, or all if it has fewer. */
static void
iommufd_test_bench_devices_destroy(struct iommufd_test_bench_devices *held,
				   unsigned long n)
{
	struct mock_dev *mdev;

	lockdep_assert_held(&bench_devices_lock);
	for (; n && !list_empty(&held->devices); n--) {
		mdev = list_last_entry(&held->devices, struct mock_dev,
				       bench_item);
		list_del(&mdev->bench_item);
		mock_dev_destroy(mdev);
		cond_resched();
	}
}

/* A count of devices to make: all of them, or none on an error. */
static ssize_t iommufd_test_bench_devices_write(struct file *file,
						const char __user *ubuf,
						size_t count, loff_t *ppos)
{
	struct iommufd_test_bench_devices *held = file->private_data;
	struct mock_dev *mdev;
	unsigned long n, i;
	int rc;

	rc = kstrtoul_from_user(ubuf, count, 0, &n);
	if (rc)
		return rc;
	if (n > BENCH_DEVICES_MAX)
		return -EINVAL;

	mutex_lock(&bench_devices_lock);
	for (i = 0; i != n; i++) {
		mdev = mock_dev_create(0);
		if (IS_ERR(mdev)) {
			rc = PTR_ERR(mdev);
			iommufd_test_bench_devices_destroy(held, i);
			break;
		}
		list_add_tail(&mdev->bench_item, &held->devices);
		cond_resched();
	}
	mutex_unlock(&bench_devices_lock);
	return rc ? rc : count;
}

static int iommufd_test_bench_devices_release(struct inode *inode,
					      struct file *file)
{
	struct iommufd_test_bench_devices *held = file->private_data;

	mutex_lock(&bench_devices_lock);
	iommufd_test_bench_devices_destroy(held, ULONG_MAX);
	mutex_unlock(&bench_devices_lock);
	kfree(held);
	return 0;
}

static const struct file_operations iommufd_test_bench_devices_fops = {
	.owner = THIS_MODULE,
	.open = iommufd_test_bench_devices_open,
	.write = iommufd_test_bench_devices_write,
	.release = iommufd_test_bench_devices_release,
	.llseek = noop_llseek,
};

int iommufd_test_init(void)
{
	int rc;

	rc = bus_register(&iommufd_mock_bus);
	if (rc)
		return rc;
	rc = driver_register(&mock_dma_driver);
	if (rc)
		goto err_bus;
	rc = iommu_device_sysfs_add(&mock_iommu, NULL, NULL, "%s",
				    "iommufd_mock");
	if (rc)
		goto err_driver;
	/*
	 * Not iommu_device_register(): that would claim the PCI and platform
	 * buses, which belong to the real IOMMU driver.
	 */
	mock_iommu.ops = &mock_ops;

	iommufd_fail_dir = fault_create_debugfs_attr("fail_iommufd", NULL,
						     &fail_iommufd);
	debugfs_create_bool("mock_share_group", 0600, iommufd_debugfs_dir,
			    &mock_share_group);
	debugfs_create_bool("mock_msi_window", 0600, iommufd_debugfs_dir,
			    &mock_msi_window);
	debugfs_create_bool("mock_sw_msi", 0600, iommufd_debugfs_dir,
			    &mock_sw_msi);
	debugfs_create_bool("mock_no_snoop", 0600, iommufd_debugfs_dir,
			    &mock_no_snoop);
	debugfs_create_bool("mock_narrow", 0600, iommufd_debugfs_dir,
			    &mock_narrow);
	debugfs_create_bool("mock_driver_match", 0600, iommufd_debugfs_dir,
			    &mock_driver_match);
	debugfs_create_file("inject", 0200, iommufd_debugfs_dir, NULL,
			    &iommufd_test_inject_fops);
	debugfs_create_file("bench_pin", 0200, iommufd_debugfs_dir, NULL,
			    &iommufd_test_bench_pin_fops);
	debugfs_create_file("bench_devices", 0200, iommufd_debugfs_dir, NULL,
			    &iommufd_test_bench_devices_fops);
	return 0;

err_driver:
	driver_unregister(&mock_dma_driver);
err_bus:
	bus_unregister(&iommufd_mock_bus);
	return rc;
}

void iommufd_test_exit(void)
{
	debugfs_remove_recursive(iommufd_fail_dir);
	iommu_device_sysfs_remove(&mock_iommu);
	driver_unregister(&mock_dma_driver);
	bus_unregister(&iommufd_mock_bus);
	/* The leaves freed after a grace period, by this module's code. */
	rcu_barrier();
}
