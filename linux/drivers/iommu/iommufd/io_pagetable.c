// SPDX-License-Identifier: GPL-2.0-only
/*
 * The io_pagetable: the IOVA space of an IOAS.
 *
 * Three interval trees describe it, all under iopt->iova_rwsem:
 *  - area_itree: the mapped ranges (struct iopt_area);
 *  - reserved_itree: ranges nothing may be mapped at, such as a device's
 *    MSI window or what lies outside a domain's aperture;
 *  - allowed_itree: if not empty, the only ranges the kernel may choose
 *    IOVAs from (userspace picks them with IOMMU_IOAS_ALLOW_IOVAS).
 * Allowed and reserved ranges do not intersect, but where a domain's
 * aperture narrowed at an attach (iopt_table_narrow_aperture()); IOVAs
 * are never picked from a reserved range either way.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/err.h>
#include <linux/lockdep.h>
#include <linux/log2.h>
#include <linux/overflow.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>

#include "io_pagetable.h"
#include "iommufd_private.h"
#include "iommufd_trace.h"

/*
 * The largest alignment worth giving an automatically chosen IOVA: enough
 * for the IOMMU to use a huge page when the memory behind it is one.
 */
#define IOPT_MAX_AUTO_ALIGNMENT SZ_2M

void iopt_init_table(struct io_pagetable *iopt,
		     struct rw_semaphore *pin_growth_rwsem)
{
	init_rwsem(&iopt->iova_rwsem);
	iopt->pin_growth_rwsem = pin_growth_rwsem;
	iopt->area_itree = RB_ROOT_CACHED;
	iopt->allowed_itree = RB_ROOT_CACHED;
	iopt->reserved_itree = RB_ROOT_CACHED;
	iopt->iova_alignment = 1;
	xa_init_flags(&iopt->access_list, XA_FLAGS_ALLOC | XA_FLAGS_ACCOUNT);
	xa_init_flags(&iopt->windows, XA_FLAGS_ACCOUNT);
	iopt->nwindows = 0;
}

static void iopt_free_itree(struct rb_root_cached *root, size_t offset)
{
	struct interval_tree_node *node;

	while ((node = interval_tree_iter_first(root, 0, ULONG_MAX))) {
		interval_tree_remove(node, root);
		kfree((void *)node - offset);
	}
}

void iopt_destroy_table(struct io_pagetable *iopt)
{
	/* The IOAS unmaps everything before its table goes away. */
	WARN_ON(!RB_EMPTY_ROOT(&iopt->area_itree.rb_root));
	WARN_ON(iopt->ndomains);
	WARN_ON(!xa_empty(&iopt->access_list));
	iopt_forget_windows(iopt);
	xa_destroy(&iopt->windows);
	kfree(iopt->domains);
	iopt_free_itree(&iopt->allowed_itree,
			offsetof(struct iopt_allowed, node));
	iopt_free_itree(&iopt->reserved_itree,
			offsetof(struct iopt_reserved, node));
}

/* ALIGN(), or false if the result would not fit in an unsigned long. */
static bool iopt_align_up(unsigned long start, unsigned long align,
			  unsigned long *out)
{
	if (start > ULONG_MAX - (align - 1))
		return false;
	*out = ALIGN(start, align);
	return true;
}

/*
 * Find the lowest IOVA in [start, last] at which @length bytes, aligned as
 * asked, touch neither an area nor a reserved range. Each step jumps past
 * one blocking range, so this ends after at most one step per range.
 */
static bool iopt_find_hole(struct io_pagetable *iopt, unsigned long start,
			   unsigned long last, unsigned long length,
			   unsigned long align, unsigned long *out)
{
	unsigned long iova, iova_last;

	while (iopt_align_up(start, align, &iova)) {
		struct interval_tree_node *block;

		if (check_add_overflow(iova, length - 1, &iova_last) ||
		    iova_last > last)
			return false;

		block = interval_tree_iter_first(&iopt->area_itree, iova,
						 iova_last);
		if (!block)
			block = interval_tree_iter_first(&iopt->reserved_itree,
							 iova, iova_last);
		if (!block) {
			*out = iova;
			return true;
		}
		if (block->last >= last)
			return false;
		start = block->last + 1;
	}
	return false;
}

/**
 * iopt_alloc_iova - choose an IOVA for a new mapping
 * @iopt: the io_pagetable
 * @iova: the chosen IOVA
 * @uptr: the user address to be mapped, or 0 if not mapping user memory
 * @length: the length of the mapping
 *
 * The IOVA is aligned to the size of the mapping rounded up to a power of
 * two, at most a huge page, and at most the alignment of @uptr: memory
 * that sits in a huge page then gets an IOVA that a huge IO page can map.
 * Page 0 and the last page are never chosen, and when userspace allowed
 * some ranges only those are used.
 *
 * Return: 0, -EINVAL if the mapping cannot meet the table's alignment,
 * -EOVERFLOW for a length of 0 or too big, -ENOSPC if nothing is free.
 */
int iopt_alloc_iova(struct io_pagetable *iopt, unsigned long *iova,
		    unsigned long uptr, unsigned long length)
{
	unsigned long align, lo = PAGE_SIZE, hi = ULONG_MAX - PAGE_SIZE;
	struct interval_tree_node *allowed;

	lockdep_assert_held(&iopt->iova_rwsem);

	/* Half the space at most, as upstream. */
	if (!length || length >= ULONG_MAX / 2)
		return -EOVERFLOW;

	align = IOPT_MAX_AUTO_ALIGNMENT;
	if (length < align)
		align = roundup_pow_of_two(length);
	if (uptr)
		align = min(align, 1UL << __ffs(uptr));
	if (align < iopt->iova_alignment)
		return -EINVAL;

	if (RB_EMPTY_ROOT(&iopt->allowed_itree.rb_root))
		return iopt_find_hole(iopt, lo, hi, length, align, iova) ?
			       0 : -ENOSPC;

	for (allowed = interval_tree_iter_first(&iopt->allowed_itree, lo, hi);
	     allowed; allowed = interval_tree_iter_next(allowed, lo, hi)) {
		if (iopt_find_hole(iopt, max(allowed->start, lo),
				   min(allowed->last, hi), length, align, iova))
			return 0;
	}
	return -ENOSPC;
}

/* Check a fixed IOVA for a new mapping of @length bytes. */
static int iopt_check_iova(struct io_pagetable *iopt, unsigned long iova,
			   unsigned long length)
{
	unsigned long last;

	lockdep_assert_held(&iopt->iova_rwsem);

	if (iova & (iopt->iova_alignment - 1))
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	if (iopt_reserved_iter_first(iopt, iova, last))
		return -EINVAL;
	if (iopt_area_iter_first(iopt, iova, last))
		return -EEXIST;
	return 0;
}

/*
 * An area per mapping, like its iopt_pages (see iopt_pages_cache): a cache
 * of their own, not zeroed; iopt_area_alloc() sets what insertion does not.
 */
static struct kmem_cache *iopt_area_cache;

/**
 * iopt_area_cache_create - create the slab cache of iopt_area
 *
 * Return: 0 or -ENOMEM.
 */
int iopt_area_cache_create(void)
{
	/* iommu_prot is a u8. */
	BUILD_BUG_ON((IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE | IOMMU_NOEXEC |
		      IOMMU_MMIO | IOMMU_PRIV) > U8_MAX);
	iopt_area_cache = kmem_cache_create("iommufd_area",
					    sizeof(struct iopt_area), 0,
					    SLAB_ACCOUNT, NULL);
	return iopt_area_cache ? 0 : -ENOMEM;
}

/**
 * iopt_area_cache_destroy - destroy the slab cache of iopt_area
 *
 * Every area must have been freed.
 */
void iopt_area_cache_destroy(void)
{
	kmem_cache_destroy(iopt_area_cache);
}

/*
 * A new area for @pages, with neither IOVA range nor first page index yet:
 * the caller sets both (and the page offset, if not 0) before inserting it
 * in any tree.
 */
static struct iopt_area *iopt_area_alloc(struct iopt_pages *pages,
					 int iommu_prot)
{
	struct iopt_area *area;

	area = kmem_cache_alloc(iopt_area_cache, GFP_KERNEL);
	if (!area)
		return NULL;
	area->pages = pages;
	area->storage_domain = NULL;
	area->first_pfn = 0;
	area->page_offset = 0;
	area->iommu_prot = iommu_prot;
	area->prevent_access = 0;
	area->num_accesses = 0;
	return area;
}

static void iopt_area_free(struct iopt_area *area)
{
	kmem_cache_free(iopt_area_cache, area);
}

/*
 * One slice of an iopt_pages to map: bytes [start_byte, start_byte +
 * length) of the pages, holding a reference on them.
 */
struct iopt_pages_slice {
	struct list_head next;
	struct iopt_pages *pages;
	unsigned long start_byte;
	unsigned long length;
	struct iopt_area *area;
};

static void iopt_free_slices(struct list_head *slices)
{
	struct iopt_pages_slice *slice, *tmp;

	list_for_each_entry_safe(slice, tmp, slices, next) {
		WARN_ON(slice->area);
		if (slice->pages)
			iopt_put_pages(slice->pages);
		list_del(&slice->next);
		kfree(slice);
	}
}

static int iopt_insert_area(struct io_pagetable *iopt, struct iopt_area *area,
			    struct iopt_pages_slice *slice, unsigned long iova)
{
	lockdep_assert_held_write(&iopt->iova_rwsem);

	if (((area->iommu_prot & IOMMU_WRITE) && !slice->pages->writable) ||
	    ((area->iommu_prot & IOMMU_READ) &&
	     !iopt_pages_readable(slice->pages)))
		return -EPERM;
	area->page_offset = slice->start_byte % PAGE_SIZE;
	if (area->page_offset & (iopt->iova_alignment - 1))
		return -EINVAL;

	area->node.start = iova;
	area->node.last = iova + slice->length - 1;
	area->pages_index = slice->start_byte / PAGE_SIZE;
	interval_tree_insert(&area->node, &iopt->area_itree);
	return 0;
}

/*
 * Map every slice, one after the other, from *iova on (or from an IOVA
 * the kernel chooses). Either all are mapped, each area taking over its
 * slice's reference on the pages, or nothing changed. The caller holds
 * pin_growth_rwsem for reading and iova_rwsem for writing.
 */
static int __iopt_map_slices(struct io_pagetable *iopt,
			     struct list_head *slices, unsigned long length,
			     unsigned long *iova, int iommu_prot,
			     bool alloc_iova)
{
	struct iopt_pages_slice *slice, *first;
	unsigned long cur;
	int rc;

	if (!length)
		return -EINVAL;
	first = list_first_entry(slices, struct iopt_pages_slice, next);

	lockdep_assert_held(iopt->pin_growth_rwsem);
	lockdep_assert_held_write(&iopt->iova_rwsem);
	if (length & (iopt->iova_alignment - 1))
		return -EINVAL;
	if (alloc_iova)
		rc = iopt_alloc_iova(iopt, iova,
				     iopt_pages_start(first->pages) +
					     first->start_byte,
				     length);
	else
		rc = iopt_check_iova(iopt, *iova, length);
	if (rc)
		return rc;

	cur = *iova;
	list_for_each_entry(slice, slices, next) {
		slice->area = iopt_area_alloc(slice->pages, iommu_prot);
		if (!slice->area) {
			rc = -ENOMEM;
			goto out_remove;
		}
		rc = iopt_insert_area(iopt, slice->area, slice, cur);
		if (rc) {
			iopt_area_free(slice->area);
			slice->area = NULL;
			goto out_remove;
		}
		cur += slice->length;
	}

	/* With domains attached, the memory is pinned and mapped now. */
	if (iopt->ndomains) {
		list_for_each_entry(slice, slices, next) {
			rc = iopt_area_fill_domains(iopt, slice->area,
						    iopt->domains,
						    iopt->ndomains);
			if (rc)
				goto out_unfill;
		}
	}

	/* Success: the areas own the references now. */
	list_for_each_entry(slice, slices, next) {
		slice->pages = NULL;
		slice->area = NULL;
	}
	return 0;

out_unfill:
	list_for_each_entry_continue_reverse(slice, slices, next)
		iopt_area_unfill_domains(iopt, slice->area, iopt->domains,
					 iopt->ndomains);
out_remove:
	list_for_each_entry(slice, slices, next) {
		if (!slice->area)
			break;
		interval_tree_remove(&slice->area->node, &iopt->area_itree);
		iopt_area_free(slice->area);
		slice->area = NULL;
	}
	return rc;
}

/* As __iopt_map_slices(), taking iova_rwsem. */
static int iopt_map_slices(struct io_pagetable *iopt, struct list_head *slices,
			   unsigned long length, unsigned long *iova,
			   int iommu_prot, bool alloc_iova)
{
	int rc;

	down_write(&iopt->iova_rwsem);
	rc = __iopt_map_slices(iopt, slices, length, iova, iommu_prot,
			       alloc_iova);
	up_write(&iopt->iova_rwsem);
	return rc;
}

/* New pages are charged as the context says (IOMMU_OPTION_RLIMIT_MODE). */
static void iopt_pages_ctx_account(struct iommufd_ctx *ictx,
				   struct iopt_pages *pages)
{
	if (ictx->account_mode == IOPT_PAGES_ACCOUNT_MM &&
	    pages->account_mode == IOPT_PAGES_ACCOUNT_USER)
		pages->account_mode = IOPT_PAGES_ACCOUNT_MM;
}

/* Map @length bytes of @pages from @start_byte on; consumes @pages. */
static int iopt_map_pages(struct iommufd_ctx *ictx, struct io_pagetable *iopt,
			  struct iopt_pages *pages, unsigned long start_byte,
			  unsigned long *iova, unsigned long length,
			  int iommu_prot, bool alloc_iova)
{
	struct iopt_pages_slice slice = {
		.pages = pages,
		.start_byte = start_byte,
		.length = length,
	};
	LIST_HEAD(slices);
	int rc;

	iopt_pages_ctx_account(ictx, pages);
	list_add(&slice.next, &slices);

	iopt_pin_growth_begin(iopt);
	rc = iopt_map_slices(iopt, &slices, length, iova, iommu_prot,
			     alloc_iova);
	iopt_pin_growth_end(iopt);
	if (slice.pages)
		iopt_put_pages(slice.pages);
	return rc;
}

/*
 * A guest with a vIOMMU maps its memory a page or a few at a time, each map
 * an IOMMU_IOAS_MAP of its own. Rather than an iopt_pages each, the maps
 * that fall in one aligned window of the caller's address space share one,
 * each area a slice of it, as the areas IOMMU_IOAS_COPY makes share theirs:
 * a map then costs its area only. The io_pagetable keeps the iopt_pages of
 * each window (and writability) it mapped from in iopt->windows, even with
 * no area left, so that a page mapped and unmapped again and again costs
 * no allocation either, up to IOPT_MAX_WINDOWS of them: what they cost is
 * not pinned memory, and RLIMIT_MEMLOCK does not bound it. It lets them
 * go when it has no page table left, when IOMMU_IOAS_CHANGE_PROCESS found
 * it without user memory, and at its end.
 *
 * Pins are taken and charged per page, whoever shares the iopt_pages; what
 * sharing would change is that two maps of the same page share its pin and
 * charge, where separate iopt_pages pin and charge twice (as type1 does).
 * So a map only joins the window's iopt_pages when none of its pages is in
 * use there, which domains_itree and access_itree show as long as every
 * area of the iopt_pages is filled: the table has page tables, and no
 * IOMMU_IOAS_COPY took it elsewhere. Otherwise the map gets an iopt_pages
 * of its own, as before. All of it is decided and done under iova_rwsem,
 * so two maps of one page cannot both join.
 */
#define IOPT_USER_WINDOW SZ_1G
#define IOPT_MAX_WINDOWS 4096

static unsigned long iopt_window_key(unsigned long base, bool writable)
{
	return base / IOPT_USER_WINDOW * 2 + writable;
}

static void __iopt_forget_windows(struct io_pagetable *iopt)
{
	struct iopt_pages *pages;
	unsigned long index;

	lockdep_assert_held_write(&iopt->iova_rwsem);
	xa_for_each(&iopt->windows, index, pages) {
		xa_erase(&iopt->windows, index);
		iopt_put_pages(pages);
	}
	iopt->nwindows = 0;
}

/**
 * iopt_forget_windows - let go of the iopt_pages later maps could join
 * @iopt: the io_pagetable
 *
 * For a table none of whose mappings is of user memory any more: the
 * iopt_pages kept for its windows hold the mm, task and user of whoever
 * mapped the memory, and need not.
 */
void iopt_forget_windows(struct io_pagetable *iopt)
{
	down_write(&iopt->iova_rwsem);
	__iopt_forget_windows(iopt);
	up_write(&iopt->iova_rwsem);
}

/*
 * The window [*base, *base + *size) of the address space, ending at
 * TASK_SIZE at the latest, that [start, start + length) lies in; false if
 * the range is empty, beyond TASK_SIZE or crosses the window's end.
 */
static bool iopt_user_window(unsigned long start, unsigned long length,
			     unsigned long *base, unsigned long *size)
{
	if (!length || start >= TASK_SIZE)
		return false;
	*base = ALIGN_DOWN(start, IOPT_USER_WINDOW);
	*size = min_t(unsigned long, IOPT_USER_WINDOW, TASK_SIZE - *base);
	return length <= *size - (start - *base);
}

/*
 * Whether the map of bytes [offset, offset + length) of a window may join
 * its @pages: they charge as the caller's would, and none of those bytes'
 * pages is pinned for another area or an access yet.
 */
static bool iopt_window_pages_joinable(struct iopt_pages *pages,
				       struct iommufd_ctx *ictx,
				       unsigned long offset,
				       unsigned long length, bool lock_cap)
{
	unsigned long index = offset / PAGE_SIZE;
	unsigned long last = (offset + length - 1) / PAGE_SIZE;
	u8 account_mode = IOPT_PAGES_ACCOUNT_NONE;
	bool in_use;

	if (READ_ONCE(pages->copied) || pages->source_mm != current->mm ||
	    last >= pages->npages)
		return false;
	if (!lock_cap) {
		account_mode = ictx->account_mode == IOPT_PAGES_ACCOUNT_MM ?
				       IOPT_PAGES_ACCOUNT_MM :
				       IOPT_PAGES_ACCOUNT_USER;
		if (pages->source_task != current->group_leader ||
		    pages->source_user != current_user())
			return false;
	}
	if (pages->account_mode != account_mode)
		return false;

	mutex_lock(&pages->mutex);
	in_use = iopt_filled_area_iter_first(&pages->domains_itree, index,
					     last) ||
		 interval_tree_iter_first(&pages->access_itree, index, last);
	mutex_unlock(&pages->mutex);
	return !in_use;
}

/* iopt_map_user_pages() of a range within the window [base, base + size). */
static int iopt_map_user_window(struct iommufd_ctx *ictx,
				struct io_pagetable *iopt, unsigned long *iova,
				unsigned long start, unsigned long length,
				unsigned long base, unsigned long size,
				int iommu_prot, bool alloc_iova)
{
	bool writable = iommu_prot & IOMMU_WRITE;
	unsigned long key = iopt_window_key(base, writable);
	bool lock_cap = capable(CAP_IPC_LOCK);
	struct iopt_pages_slice slice = {
		.start_byte = start - base,
		.length = length,
	};
	struct iopt_pages *pages, *old = NULL;
	bool new_window = false;
	LIST_HEAD(slices);
	int rc;

	iopt_pin_growth_begin(iopt);
	down_write(&iopt->iova_rwsem);
	pages = xa_load(&iopt->windows, key);
	if (pages && iopt->ndomains &&
	    iopt_window_pages_joinable(pages, ictx, start - base, length,
				       lock_cap)) {
		kref_get(&pages->kref);
	} else if (iopt->ndomains) {
		/* A new iopt_pages for the window, to replace the old one. */
		new_window = pages || iopt->nwindows < IOPT_MAX_WINDOWS;
		pages = iopt_alloc_user_pages((void __user *)base, size,
					      writable, lock_cap);
	} else {
		/* Without page tables, its own iopt_pages (see above). */
		slice.start_byte = start % PAGE_SIZE;
		pages = iopt_alloc_user_pages((void __user *)start, length,
					      writable, lock_cap);
	}
	if (IS_ERR(pages)) {
		rc = PTR_ERR(pages);
		goto out_unlock;
	}
	/* Joined ones charge so already. */
	iopt_pages_ctx_account(ictx, pages);
	slice.pages = pages;
	list_add(&slice.next, &slices);
	rc = __iopt_map_slices(iopt, &slices, length, iova, iommu_prot,
			       alloc_iova);
	if (rc || !new_window)
		goto out_unlock;
	/* Keep the new one for the maps to come; without memory, do not. */
	kref_get(&pages->kref);
	old = xa_store(&iopt->windows, key, pages, GFP_KERNEL);
	if (xa_is_err(old)) {
		iopt_put_pages(pages);	/* not the last: the area holds one */
		old = NULL;
	} else if (!old) {
		iopt->nwindows++;
	}
out_unlock:
	up_write(&iopt->iova_rwsem);
	iopt_pin_growth_end(iopt);
	if (slice.pages)
		iopt_put_pages(slice.pages);
	if (old)
		iopt_put_pages(old);
	return rc;
}

/**
 * iopt_map_user_pages - map user memory at an IOVA
 * @ictx: the context, whose accounting mode applies
 * @iopt: the io_pagetable
 * @iova: the IOVA; an output if @alloc_iova
 * @uptr: the user memory
 * @length: its length in bytes
 * @iommu_prot: IOMMU_READ / IOMMU_WRITE / IOMMU_CACHE
 * @alloc_iova: let the kernel choose the IOVA
 *
 * Return: 0 or a negative errno; on error nothing changed.
 */
int iopt_map_user_pages(struct iommufd_ctx *ictx, struct io_pagetable *iopt,
			unsigned long *iova, void __user *uptr,
			unsigned long length, int iommu_prot, bool alloc_iova)
{
	unsigned long start = (unsigned long)uptr, base, size;
	struct iopt_pages *pages;

	if (iopt_user_window(start, length, &base, &size))
		return iopt_map_user_window(ictx, iopt, iova, start, length,
					    base, size, iommu_prot,
					    alloc_iova);

	pages = iopt_alloc_user_pages(uptr, length, iommu_prot & IOMMU_WRITE,
				      capable(CAP_IPC_LOCK));
	if (IS_ERR(pages))
		return PTR_ERR(pages);
	return iopt_map_pages(ictx, iopt, pages, start % PAGE_SIZE, iova,
			      length, iommu_prot, alloc_iova);
}

/**
 * iopt_map_file_pages - map part of a shmem or hugetlbfs file at an IOVA
 * @ictx: the context, whose accounting mode applies
 * @iopt: the io_pagetable
 * @iova: the IOVA; an output if @alloc_iova
 * @file: the file
 * @start: the file offset to map from
 * @length: how many bytes
 * @iommu_prot: IOMMU_READ / IOMMU_WRITE / IOMMU_CACHE
 * @alloc_iova: let the kernel choose the IOVA
 *
 * As iopt_map_user_pages(), with the pages taken from the file's page cache
 * when they are pinned; see iopt_alloc_file_pages() for the errors of the
 * file and the range.
 *
 * Return: 0 or a negative errno; on error nothing changed.
 */
int iopt_map_file_pages(struct iommufd_ctx *ictx, struct io_pagetable *iopt,
			unsigned long *iova, struct file *file, u64 start,
			unsigned long length, int iommu_prot, bool alloc_iova)
{
	struct iopt_pages *pages;

	pages = iopt_alloc_file_pages(file, start, length,
				      iommu_prot & IOMMU_WRITE,
				      iommu_prot & IOMMU_READ);
	if (IS_ERR(pages))
		return PTR_ERR(pages);
	return iopt_map_pages(ictx, iopt, pages, start % PAGE_SIZE, iova,
			      length, iommu_prot, alloc_iova);
}

/**
 * iopt_copy_iova - map what one IOVA range maps at another IOVA
 * @dst: the io_pagetable to map into
 * @src: the io_pagetable whose mappings are copied (may be @dst)
 * @src_iova: the start of the range to copy
 * @length: its length, not 0, with @src_iova + @length - 1 not wrapping
 *	(IOMMU_IOAS_COPY checks both before it looks up @dst); it must be
 *	mapped without holes
 * @dst_iova: the destination IOVA; an output if @alloc_iova
 * @iommu_prot: the protection of the new mappings
 * @alloc_iova: let the kernel choose the destination IOVA
 *
 * The new mappings share the pages of the old ones: nothing is pinned or
 * accounted twice.
 *
 * Return: 0, -ENOENT if part of the source range is not mapped, or another
 * negative errno; on error nothing changed.
 */
int iopt_copy_iova(struct io_pagetable *dst, struct io_pagetable *src,
		   unsigned long src_iova, unsigned long length,
		   unsigned long *dst_iova, int iommu_prot, bool alloc_iova)
{
	unsigned long last = src_iova + length - 1, expect = src_iova;
	struct iopt_pages_slice *slice;
	struct iopt_area *area;
	LIST_HEAD(slices);
	int rc = 0;

	/*
	 * From before the source is read: IOMMU_IOAS_CHANGE_PROCESS must not
	 * miss pages that only this copy still reaches (their mapping gone
	 * meanwhile), which it would then map with the old owner's charges.
	 * Both IOASes are of one context.
	 */
	iopt_pin_growth_begin(dst);
	down_read(&src->iova_rwsem);
	for (area = iopt_area_iter_first(src, src_iova, last); area;
	     area = iopt_area_iter_next(area, src_iova, last)) {
		unsigned long from = max(src_iova, iopt_area_iova(area));
		unsigned long to = min(last, iopt_area_last_iova(area));

		if (from != expect || !area->pages) {
			rc = -ENOENT;
			goto out_unlock;
		}
		slice = kzalloc(sizeof(*slice), GFP_KERNEL_ACCOUNT);
		if (!slice) {
			rc = -ENOMEM;
			goto out_unlock;
		}
		kref_get(&area->pages->kref);
		/* No later map may join it: see iopt_map_user_window(). */
		if (!READ_ONCE(area->pages->copied))
			WRITE_ONCE(area->pages->copied, true);
		slice->pages = area->pages;
		slice->start_byte = iopt_area_start_byte(area, from);
		slice->length = to - from + 1;
		list_add_tail(&slice->next, &slices);
		expect = to + 1;
		if (to == last)
			break;
	}
	if (list_empty(&slices) || expect - 1 != last)
		rc = -ENOENT;
out_unlock:
	up_read(&src->iova_rwsem);

	if (!rc)
		rc = iopt_map_slices(dst, &slices, length, dst_iova,
				     iommu_prot, alloc_iova);
	iopt_pin_growth_end(dst);
	iopt_free_slices(&slices);
	return rc;
}

/*
 * How many times an unmap asks the accesses to let go of an area before it
 * gives up on a driver that does not unpin.
 */
#define IOPT_UNMAP_ACCESS_TRIES 100

/*
 * An unmap starts waiting for accesses to let go of @area: whether it
 * marked it (with U8_MAX unmaps waiting already, the others' marks do).
 */
static bool iopt_area_prevent_access(struct io_pagetable *iopt,
				     struct iopt_area *area)
{
	lockdep_assert_held_write(&iopt->iova_rwsem);

	if (area->prevent_access == U8_MAX)
		return false;
	area->prevent_access++;
	return true;
}

/*
 * An unmap takes back its mark on the area at @iova, if that is still
 * there: accesses may pin it again once no unmap waits for it.
 */
static void iopt_area_allow_access(struct io_pagetable *iopt,
				   unsigned long iova)
{
	struct iopt_area *area = iopt_area_iter_first(iopt, iova, iova);

	lockdep_assert_held_write(&iopt->iova_rwsem);

	if (area && iopt_area_iova(area) == iova && area->prevent_access)
		area->prevent_access--;
}

/*
 * Remove every area inside [start, last]. An area only partly inside makes
 * the whole call fail with -ENOENT before anything is removed, or, if it
 * appeared while the call waited for an access (below), after some were.
 *
 * An area accesses have pinned pages of cannot go yet: it is marked so that
 * no new pin reaches it, the locks are dropped, the accesses of the IOAS
 * are told to unpin, and the walk starts over. The call's mark goes when
 * the area does, or when the call gives up or waits for another area.
 */
static int iopt_unmap_iova_range(struct io_pagetable *iopt, unsigned long start,
				 unsigned long last, unsigned long *unmapped)
{
	unsigned long total = 0, waited_iova = 0;
	struct iopt_area *first, *area, *next;
	unsigned int tries = 0;
	/* Waiting for the area at waited_iova; holding a mark on it. */
	bool waiting = false, marked = false;
	int rc = 0;

again:
	down_write(&iopt->iova_rwsem);
	first = iopt_area_iter_first(iopt, start, last);
	/* Only the areas at the ends can stick out of the range. */
	if (first && iopt_area_last_iova(first) < last)
		area = iopt_area_iter_first(iopt, last, last);
	else
		area = first;
	if ((first && iopt_area_iova(first) < start) ||
	    (area && iopt_area_last_iova(area) > last)) {
		/*
		 * After a retry, what is gone stays gone and the rest stays;
		 * the call fails all the same, as a mapping inside the range
		 * may be left.
		 */
		if (marked)
			iopt_area_allow_access(iopt, waited_iova);
		rc = -ENOENT;
		goto out_unlock;
	}

	for (area = first; area; area = next) {
		next = iopt_area_iter_next(area, start, last);
		if (area->num_accesses) {
			unsigned long iova = iopt_area_iova(area);
			unsigned long length = iopt_area_length(area);

			/*
			 * The budget is per area: an unmap may cross any
			 * number of pinned areas, each let go at the first
			 * notice. One that stays pinned through all of them
			 * has an access that ignores its unmap callback.
			 */
			if (!waiting || iova != waited_iova) {
				if (marked)
					iopt_area_allow_access(iopt,
							       waited_iova);
				marked = iopt_area_prevent_access(iopt, area);
				waiting = true;
				waited_iova = iova;
				tries = 0;
			}
			if (WARN_ON(++tries > IOPT_UNMAP_ACCESS_TRIES)) {
				if (marked)
					iopt_area_allow_access(iopt,
							       waited_iova);
				rc = -EDEADLK;
				goto out_unlock;
			}
			up_write(&iopt->iova_rwsem);
			iommufd_access_notify_unmap(iopt, iova, length);
			goto again;
		}
		if (waiting && iopt_area_iova(area) == waited_iova) {
			waiting = false;
			marked = false;
		}
		total += iopt_area_length(area);
		if (iopt->ndomains)
			iopt_area_unfill_domains(iopt, area, iopt->domains,
						 iopt->ndomains);
		interval_tree_remove(&area->node, &iopt->area_itree);
		iopt_put_pages(area->pages);
		iopt_area_free(area);
	}
out_unlock:
	up_write(&iopt->iova_rwsem);
	if (unmapped)
		*unmapped = total;
	return rc;
}

/*
 * Whether @area may be cut in two between @iova and @iova + 1: 1 if so, 0
 * if @iova is not inside it (nothing to cut), or a negative errno. No IO
 * page may span the cut: none does when IO pages are no larger than CPU
 * pages (large pages disabled); otherwise, for VFIO_TYPE1_IOMMU
 * (cut_anywhere), those around the cut are mapped again in two. An area
 * accesses pin cannot be cut at all, their pins being per area.
 */
static int iopt_area_split_check(struct io_pagetable *iopt,
				 struct iopt_area *area, unsigned long iova)
{
	lockdep_assert_held_write(&iopt->iova_rwsem);

	if (iova < iopt_area_iova(area) || iova >= iopt_area_last_iova(area))
		return 0;
	if (area->prevent_access || area->num_accesses)
		return -EBUSY;
	if ((iova + 1) & (iopt->iova_alignment - 1) ||
	    iopt_area_start_byte(area, iova + 1) % PAGE_SIZE)
		return -EINVAL;
	if (area->storage_domain && !iopt->disable_large_pages &&
	    !iopt->cut_anywhere)
		return -EINVAL;
	return 1;
}

/*
 * Cut @area, which iopt_area_split_check() allowed, between @iova and
 * @iova + 1; the new right half, @rhs, shares the pages. Only remapping
 * the IO pages around the cut can fail, and then nothing changed.
 */
static int iopt_area_split(struct io_pagetable *iopt, struct iopt_area *area,
			   unsigned long iova, struct iopt_area *rhs)
{
	struct iopt_pages *pages = area->pages;
	bool filled = area->storage_domain;
	int rc;

	/*
	 * The pages' mutex also keeps out whoever reads the storage domain
	 * for PFNs through the pages (another IOAS's fill after an
	 * IOMMU_IOAS_COPY, an access) while the remap has part of it unmapped.
	 */
	mutex_lock(&pages->mutex);
	if (filled && !iopt->disable_large_pages) {
		rc = iopt_area_remap_for_cut(iopt, area, iova + 1);
		if (rc) {
			mutex_unlock(&pages->mutex);
			return rc;
		}
	}
	interval_tree_remove(&area->node, &iopt->area_itree);
	if (filled)
		iopt_filled_area_remove(area, &pages->domains_itree);

	kref_get(&pages->kref);
	rhs->storage_domain = area->storage_domain;
	rhs->node.start = iova + 1;
	rhs->node.last = iopt_area_last_iova(area);
	rhs->pages_index = iopt_area_iova_to_index(area, iova + 1);
	rhs->page_offset = 0;
	if (filled)
		rhs->first_pfn = PHYS_PFN(iommu_iova_to_phys(rhs->storage_domain,
							     iova + 1));
	/* At a page boundary (see above): where the right part starts. */
	area->node.last = iova;

	interval_tree_insert(&area->node, &iopt->area_itree);
	interval_tree_insert(&rhs->node, &iopt->area_itree);
	if (filled) {
		iopt_filled_area_insert(area, &pages->domains_itree);
		iopt_filled_area_insert(rhs, &pages->domains_itree);
	}
	mutex_unlock(&pages->mutex);
	return 0;
}

/**
 * iopt_set_cut_anywhere - let iopt_cut_iova() cut through large IO pages
 * @iopt: the io_pagetable
 *
 * For VFIO_TYPE1_IOMMU, which may unmap any part of a mapping. Upstream
 * iommufd disables large IO pages for it instead, which costs every
 * mapping of a program that never cuts one (DPDK chooses this type) an
 * IOTLB entry per CPU page; here a cut remaps the large IO pages it goes
 * through (see iopt_area_remap_for_cut()), and maps are split so that a
 * remap never has to cut a request (see iopt_area_map_pfns()). Never
 * undone, as upstream never turns large pages back on: a later
 * VFIO_SET_IOMMU of VFIO_TYPE1v2_IOMMU leaves unmaps cutting.
 */
void iopt_set_cut_anywhere(struct io_pagetable *iopt)
{
	down_write(&iopt->iova_rwsem);
	iopt->cut_anywhere = true;
	up_write(&iopt->iova_rwsem);
}

/**
 * iopt_cut_iova - cut mappings at the ends of a range, for type1 v1
 * @iopt: the io_pagetable
 * @first: the first IOVA of the range
 * @last: the last IOVA of the range, not below @first
 *
 * While large pages are disabled, or after iopt_set_cut_anywhere(), the
 * mappings that cross @first or @last are cut there, so that
 * iopt_unmap_iova() of the range can unmap what is inside, as
 * VFIO_TYPE1_IOMMU allows. Otherwise nothing is cut. Both cuts are checked
 * before either is made, so bad input changes nothing.
 *
 * Return: 0, -EBUSY if an access pins a mapping to cut, -EINVAL if a cut
 * would not be at a CPU page boundary, or -ENOMEM, all with nothing cut;
 * remapping the IO pages around a cut can fail too (-EBUSY for a page
 * table made for dirty tracking, -ENOMEM, -EIO if an IOMMU driver
 * unmapped other than asked), and then the cut at @last stays made.
 */
int iopt_cut_iova(struct io_pagetable *iopt, unsigned long first,
		  unsigned long last)
{
	/* @last first: a cut at first - 1 then keeps the left part's area. */
	unsigned long cuts[2] = { last, first - 1 };
	struct iopt_area *areas[2] = {}, *rhs[2] = {};
	unsigned int i;
	int rc = 0;

	down_write(&iopt->iova_rwsem);
	if (!iopt->disable_large_pages && !iopt->cut_anywhere)
		goto out_unlock;
	for (i = 0; i != ARRAY_SIZE(cuts); i++) {
		struct iopt_area *area;

		if (i == 1 && !first)
			break;
		area = iopt_area_iter_first(iopt, cuts[i], cuts[i]);
		if (!area)
			continue;
		rc = iopt_area_split_check(iopt, area, cuts[i]);
		if (rc < 0)
			goto out_free;
		if (!rc)
			continue;
		rhs[i] = iopt_area_alloc(area->pages, area->iommu_prot);
		if (!rhs[i]) {
			rc = -ENOMEM;
			goto out_free;
		}
		areas[i] = area;
	}
	for (i = 0; i != ARRAY_SIZE(cuts); i++) {
		if (!areas[i])
			continue;
		/* The left part of a cut area is still the area it was. */
		rc = iopt_area_split(iopt, areas[i], cuts[i], rhs[i]);
		if (rc)
			goto out_free;
		rhs[i] = NULL;
	}
	rc = 0;
out_free:
	for (i = 0; i != ARRAY_SIZE(cuts); i++)
		if (rhs[i])
			iopt_area_free(rhs[i]);
out_unlock:
	up_write(&iopt->iova_rwsem);
	return rc;
}

/**
 * iopt_unmap_iova - unmap every mapping inside a range
 * @iopt: the io_pagetable
 * @iova: the start of the range
 * @length: its length
 * @unmapped: how many bytes were unmapped
 *
 * Mappings are never cut: one only partly inside the range fails the call.
 *
 * Return: 0, -ENOENT if a mapping crosses a boundary of the range, or
 * another negative errno. On error nothing changed, unless the call waited
 * for an access to unpin: then what went before the wait stays gone.
 */
int iopt_unmap_iova(struct io_pagetable *iopt, unsigned long iova,
		    unsigned long length, unsigned long *unmapped)
{
	unsigned long last;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	return iopt_unmap_iova_range(iopt, iova, last, unmapped);
}

/**
 * iopt_unmap_all - unmap everything
 * @iopt: the io_pagetable
 * @unmapped: how many bytes were unmapped
 *
 * Return: 0 or a negative errno.
 */
int iopt_unmap_all(struct io_pagetable *iopt, unsigned long *unmapped)
{
	return iopt_unmap_iova_range(iopt, 0, ULONG_MAX, unmapped);
}

/**
 * iopt_list_file_pages - gather the memory of every mapping, all from files
 * @iopt: the io_pagetable
 * @list: every iopt_pages not on it yet is added, by its move_item, with a
 *	reference the caller puts
 * @user_pages: increased by the pinned pages charged to another user
 * @mm_pages: increased by the pinned pages charged to another mm
 *
 * For IOMMU_IOAS_CHANGE_PROCESS, which moves the charges of every mapping
 * of a context to the calling process: an iopt_pages that several areas,
 * maybe in several IOASes, share is listed and counted once. The caller
 * holds the context's pin_growth_rwsem for writing, so no mapping appears
 * and no pin is added until it is done; mappings may go (and unpin)
 * meanwhile, which the references keep the listed pages alive through.
 *
 * Return: 0, or -EINVAL if a mapping is of user memory, which no other
 * process can reach.
 */
int iopt_list_file_pages(struct io_pagetable *iopt, struct list_head *list,
			 unsigned long *user_pages, unsigned long *mm_pages)
{
	struct iopt_area *area;
	int rc = 0;

	lockdep_assert_held_write(iopt->pin_growth_rwsem);

	down_read(&iopt->iova_rwsem);
	for (area = iopt_area_iter_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_iter_next(area, 0, ULONG_MAX)) {
		struct iopt_pages *pages = area->pages;

		if (pages->source != IOPT_PAGES_FILE) {
			rc = -EINVAL;
			break;
		}
		if (!list_empty(&pages->move_item))
			continue;
		kref_get(&pages->kref);
		list_add_tail(&pages->move_item, list);
		/* Pins charged to the caller already stay where they are. */
		if (iopt_pages_charged_to_current(pages)) {
			pages->move_npinned = 0;
			continue;
		}
		mutex_lock(&pages->mutex);
		pages->move_npinned = pages->npinned;
		mutex_unlock(&pages->mutex);
		if (pages->account_mode == IOPT_PAGES_ACCOUNT_USER)
			*user_pages += pages->move_npinned;
		else if (pages->account_mode == IOPT_PAGES_ACCOUNT_MM)
			*mm_pages += pages->move_npinned;
	}
	up_read(&iopt->iova_rwsem);
	return rc;
}

/**
 * iopt_set_allow_iova - replace the allowed ranges
 * @iopt: the io_pagetable
 * @allowed: the new ranges; on return it holds the ranges to free (the old
 *	ones on success, the new ones on failure)
 *
 * Return: 0 or -EADDRINUSE if a new range intersects a reserved one.
 */
int iopt_set_allow_iova(struct io_pagetable *iopt,
			struct rb_root_cached *allowed)
{
	struct interval_tree_node *node;

	down_write(&iopt->iova_rwsem);
	for (node = interval_tree_iter_first(allowed, 0, ULONG_MAX); node;
	     node = interval_tree_iter_next(node, 0, ULONG_MAX)) {
		if (iopt_reserved_iter_first(iopt, node->start, node->last)) {
			up_write(&iopt->iova_rwsem);
			return -EADDRINUSE;
		}
	}
	swap(*allowed, iopt->allowed_itree);
	up_write(&iopt->iova_rwsem);
	return 0;
}

/**
 * iopt_reserve_iova - keep a range of IOVA unmapped
 * @iopt: the io_pagetable
 * @start: the first IOVA of the range
 * @last: the last IOVA of the range
 * @owner: who reserves it, for iopt_remove_reserved_iova()
 *
 * Return: 0, -EADDRINUSE if the range is mapped or allowed, or -ENOMEM.
 */
int iopt_reserve_iova(struct io_pagetable *iopt, unsigned long start,
		      unsigned long last, void *owner)
{
	struct iopt_reserved *reserved;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	if (iopt_area_iter_first(iopt, start, last) ||
	    iopt_allowed_iter_first(iopt, start, last))
		return -EADDRINUSE;

	reserved = kzalloc(sizeof(*reserved), GFP_KERNEL_ACCOUNT);
	if (!reserved)
		return -ENOMEM;
	reserved->node.start = start;
	reserved->node.last = last;
	reserved->owner = owner;
	interval_tree_insert(&reserved->node, &iopt->reserved_itree);
	return 0;
}

static void __iopt_remove_reserved_iova(struct io_pagetable *iopt, void *owner)
{
	struct iopt_reserved *reserved, *next;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	for (reserved = iopt_reserved_iter_first(iopt, 0, ULONG_MAX); reserved;
	     reserved = next) {
		next = iopt_reserved_iter_next(reserved, 0, ULONG_MAX);
		if (reserved->owner != owner)
			continue;
		interval_tree_remove(&reserved->node, &iopt->reserved_itree);
		kfree(reserved);
	}
}

/**
 * iopt_remove_reserved_iova - drop every range an owner reserved
 * @iopt: the io_pagetable
 * @owner: the owner given to iopt_reserve_iova()
 */
void iopt_remove_reserved_iova(struct io_pagetable *iopt, void *owner)
{
	down_write(&iopt->iova_rwsem);
	__iopt_remove_reserved_iova(iopt, owner);
	up_write(&iopt->iova_rwsem);
}

/* Every area must meet a new, larger, alignment. */
static int iopt_check_alignment(struct io_pagetable *iopt,
				unsigned long alignment)
{
	unsigned long mask = alignment - 1;
	struct iopt_area *area;

	lockdep_assert_held(&iopt->iova_rwsem);

	for (area = iopt_area_iter_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_iter_next(area, 0, ULONG_MAX))
		if ((iopt_area_iova(area) & mask) ||
		    (iopt_area_length(area) & mask) ||
		    (area->page_offset & mask))
			return -EADDRINUSE;
	return 0;
}

/*
 * Recompute the alignment every mapping must have: the smallest IO page of
 * every domain, the alignment of every access (CPU pages for those that pin
 * pages), and PAGE_SIZE when large pages are disabled (so that every IO
 * page is a whole CPU page); 1 when nothing constrains it.
 */
static int iopt_update_alignment(struct io_pagetable *iopt)
{
	unsigned long alignment = iopt->disable_large_pages ? PAGE_SIZE : 1;
	struct iommufd_access *access;
	unsigned long index;
	unsigned int i;
	int rc;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	for (i = 0; i != iopt->ndomains; i++)
		alignment = max_t(unsigned long, alignment,
				  1UL << __ffs(iopt->domains[i]->pgsize_bitmap));
	xa_for_each(&iopt->access_list, index, access)
		alignment = max(alignment, access->iova_alignment);
	if (alignment > iopt->iova_alignment) {
		rc = iopt_check_alignment(iopt, alignment);
		if (rc)
			return rc;
	}
	iopt->iova_alignment = alignment;
	return 0;
}

/**
 * iopt_set_large_pages - allow or forbid IO pages larger than CPU pages
 * @iopt: the io_pagetable
 * @enable: allow them
 *
 * Forbidding them requires every mapping to be CPU page aligned, and is
 * refused while domains map something: their large pages would stay.
 *
 * Return: 0, -EADDRINUSE if a mapping is not aligned, or -EINVAL.
 */
int iopt_set_large_pages(struct io_pagetable *iopt, bool enable)
{
	bool old;
	int rc;

	down_write(&iopt->iova_rwsem);
	old = iopt->disable_large_pages;
	if (!enable && !old && iopt->ndomains &&
	    !RB_EMPTY_ROOT(&iopt->area_itree.rb_root)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	iopt->disable_large_pages = !enable;
	rc = iopt_update_alignment(iopt);
	if (rc)
		iopt->disable_large_pages = old;
out_unlock:
	up_write(&iopt->iova_rwsem);
	return rc;
}

/* Undo iopt_fill_domain() for the areas before @end (all if NULL). */
static void iopt_unfill_domain(struct io_pagetable *iopt,
			       struct iommu_domain *domain,
			       struct iopt_area *end)
{
	struct iopt_area *area;

	for (area = iopt_area_iter_first(iopt, 0, ULONG_MAX); area != end;
	     area = iopt_area_iter_next(area, 0, ULONG_MAX)) {
		if (iopt->ndomains) {
			mutex_lock(&area->pages->mutex);
			if (area->storage_domain == domain)
				area->storage_domain = iopt->domains[0];
			mutex_unlock(&area->pages->mutex);
			iopt_area_unmap_domain(area, domain);
		} else {
			iopt_area_unfill_domains(iopt, area, &domain, 1);
		}
	}
}

/*
 * Map every area into a new domain: pinning the memory if it is the first
 * domain, copying the PFNs from the others otherwise.
 */
static int iopt_fill_domain(struct io_pagetable *iopt,
			    struct iommu_domain *domain)
{
	struct iopt_area *area;
	int rc;

	for (area = iopt_area_iter_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_iter_next(area, 0, ULONG_MAX)) {
		if (iopt->ndomains)
			rc = iopt_area_fill_domain(iopt, area, domain);
		else
			rc = iopt_area_fill_domains(iopt, area, &domain, 1);
		if (rc) {
			iopt_unfill_domain(iopt, domain, area);
			return rc;
		}
	}
	return 0;
}

/*
 * Reserve what lies outside @domain's aperture, owned by @domain. The
 * caller holds iova_rwsem for writing and has no reservation of @domain.
 */
static int iopt_reserve_aperture(struct io_pagetable *iopt,
				 struct iommu_domain *domain)
{
	const struct iommu_domain_geometry *geo = &domain->geometry;
	int rc;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	/* An empty aperture (start > end) leaves nothing to map at. */
	if (geo->aperture_start > geo->aperture_end)
		return iopt_reserve_iova(iopt, 0, ULONG_MAX, domain);
	if (geo->aperture_start) {
		rc = iopt_reserve_iova(iopt, 0, geo->aperture_start - 1,
				       domain);
		if (rc)
			return rc;
	}
	if (geo->aperture_end != ULONG_MAX) {
		rc = iopt_reserve_iova(iopt, geo->aperture_end + 1, ULONG_MAX,
				       domain);
		if (rc) {
			__iopt_remove_reserved_iova(iopt, domain);
			return rc;
		}
	}
	return 0;
}

/**
 * iopt_table_add_domain - make a domain mirror the IOAS
 * @iopt: the io_pagetable
 * @domain: a paging domain nothing else maps into, finished by its driver:
 *	attached at least once, since 6.1's drivers set the aperture, the
 *	page sizes and the top-level table of a domain at its first attach
 *
 * Maps every area into @domain (pinning memory if it is the first domain),
 * and from then on every change of the IOAS. The IOVA outside the domain's
 * aperture becomes reserved, and the IOAS's alignment grows to the domain's
 * smallest page size.
 *
 * Return: 0, -EADDRINUSE if an area lies outside the aperture or does not
 * meet the new alignment, -EINVAL if the domain cannot map CPU pages, or
 * another negative errno; on error nothing changed.
 */
int iopt_table_add_domain(struct io_pagetable *iopt,
			  struct iommu_domain *domain)
{
	unsigned long alignment;
	struct iommu_domain **domains;
	int rc;

	iopt_pin_growth_begin(iopt);
	down_write(&iopt->iova_rwsem);

	/* A CPU page must map with whole IO pages. */
	alignment = max_t(unsigned long, 1UL << __ffs(domain->pgsize_bitmap),
			  iopt->iova_alignment);
	if (alignment > PAGE_SIZE) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (alignment != iopt->iova_alignment) {
		rc = iopt_check_alignment(iopt, alignment);
		if (rc)
			goto out_unlock;
	}

	rc = iopt_reserve_aperture(iopt, domain);
	if (rc)
		goto out_unlock;

	domains = krealloc_array(iopt->domains, iopt->ndomains + 1,
				 sizeof(*domains), GFP_KERNEL_ACCOUNT);
	if (!domains) {
		rc = -ENOMEM;
		goto out_reserved;
	}
	iopt->domains = domains;

	rc = iopt_fill_domain(iopt, domain);
	if (rc)
		goto out_reserved;

	iopt->domains[iopt->ndomains++] = domain;
	iopt->iova_alignment = alignment;
	up_write(&iopt->iova_rwsem);
	iopt_pin_growth_end(iopt);
	return 0;

out_reserved:
	__iopt_remove_reserved_iova(iopt, domain);
out_unlock:
	up_write(&iopt->iova_rwsem);
	iopt_pin_growth_end(iopt);
	return rc;
}

/**
 * iopt_table_narrow_aperture - keep out of what a domain's aperture lost
 * @iopt: the io_pagetable
 * @domain: a domain added with iopt_table_add_domain(), just attached to
 *	another group
 * @start: the first IOVA the IOAS lets @domain translate; updated
 * @last: the last one; updated
 *
 * A driver may narrow a domain's aperture when another device attaches to
 * it (VT-d through an IOMMU with fewer address bits, while no device uses
 * the domain), and may as well report a wider one that its page table
 * cannot map (VT-d raises its address width for a wider IOMMU, while its
 * levels stay). The IOAS follows the intersection of every aperture the
 * domain had: it reserves what the aperture lost, never gives anything
 * back. The driver has changed the domain by then, so an allowed range
 * there does not stop it: the range just loses what was reserved (the
 * kernel never picks an IOVA there), as it would have if the domain had
 * been attached first. The caller holds iova_rwsem for writing.
 *
 * Return: 0, -EADDRINUSE if a mapping lies where the aperture no longer
 * reaches (a driver would refuse such an attach), -EINVAL if nothing is
 * left of it, or -ENOMEM; on error nothing changed.
 */
int iopt_table_narrow_aperture(struct io_pagetable *iopt,
			       struct iommu_domain *domain,
			       unsigned long *start, unsigned long *last)
{
	const struct iommu_domain_geometry *geo = &domain->geometry;
	unsigned long new_start = max_t(unsigned long, *start,
					geo->aperture_start);
	unsigned long new_last = min_t(unsigned long, *last,
				       geo->aperture_end);
	struct iopt_reserved *head = NULL, *tail = NULL;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	if (new_start > new_last)
		return -EINVAL;
	if (new_start == *start && new_last == *last)
		return 0;
	if ((new_start != *start &&
	     iopt_area_iter_first(iopt, *start, new_start - 1)) ||
	    (new_last != *last && iopt_area_iter_first(iopt, new_last + 1, *last)))
		return -EADDRINUSE;

	if (new_start != *start) {
		head = kzalloc(sizeof(*head), GFP_KERNEL_ACCOUNT);
		if (!head)
			return -ENOMEM;
	}
	if (new_last != *last) {
		tail = kzalloc(sizeof(*tail), GFP_KERNEL_ACCOUNT);
		if (!tail) {
			kfree(head);
			return -ENOMEM;
		}
	}
	if (head) {
		head->node.start = *start;
		head->node.last = new_start - 1;
		head->owner = domain;
		interval_tree_insert(&head->node, &iopt->reserved_itree);
	}
	if (tail) {
		tail->node.start = new_last + 1;
		tail->node.last = *last;
		tail->owner = domain;
		interval_tree_insert(&tail->node, &iopt->reserved_itree);
	}
	*start = new_start;
	*last = new_last;
	return 0;
}

/**
 * iopt_table_remove_domain - stop mirroring the IOAS into a domain
 * @iopt: the io_pagetable
 * @domain: a domain added with iopt_table_add_domain()
 *
 * Unmaps every area from @domain; with it gone the last domain, the memory
 * is unpinned (unless accesses still use it).
 */
void iopt_table_remove_domain(struct io_pagetable *iopt,
			      struct iommu_domain *domain)
{
	unsigned int i;

	down_write(&iopt->iova_rwsem);

	for (i = 0; i != iopt->ndomains; i++)
		if (iopt->domains[i] == domain)
			break;
	if (WARN_ON(i == iopt->ndomains))
		goto out_unlock;
	iopt->domains[i] = iopt->domains[--iopt->ndomains];

	iopt_unfill_domain(iopt, domain, NULL);
	/* No map joins a window's iopt_pages without a page table. */
	if (!iopt->ndomains)
		__iopt_forget_windows(iopt);
	__iopt_remove_reserved_iova(iopt, domain);
	WARN_ON(iopt_update_alignment(iopt));
out_unlock:
	up_write(&iopt->iova_rwsem);
}

/**
 * iopt_next_pinned_span - find the next IOVA range that accesses pin
 * @iopt: the io_pagetable
 * @iova: where to look from
 * @first: the first IOVA of the range found
 * @last: its last IOVA
 *
 * The range is a run of areas, each starting right after the one before,
 * that access pins hold: whatever one access has pinned lies in such runs.
 *
 * Return: true if there is one at or after @iova.
 */
bool iopt_next_pinned_span(struct io_pagetable *iopt, unsigned long iova,
			   unsigned long *first, unsigned long *last)
{
	struct iopt_area *area;
	bool found = false;

	/* For writing: num_accesses stays still only so, without a mutex. */
	down_write(&iopt->iova_rwsem);
	for (area = iopt_area_iter_first(iopt, iova, ULONG_MAX); area;
	     area = iopt_area_iter_next(area, iova, ULONG_MAX)) {
		if (found && (!area->num_accesses ||
			      iopt_area_iova(area) != *last + 1))
			break;
		if (!area->num_accesses)
			continue;
		if (!found)
			*first = iopt_area_iova(area);
		*last = iopt_area_last_iova(area);
		found = true;
	}
	up_write(&iopt->iova_rwsem);
	return found;
}

/**
 * iopt_add_access - attach an access to an io_pagetable
 * @iopt: the io_pagetable
 * @access: the access; its access_list_id is set
 *
 * From now on the access hears of unmaps, and the IOAS keeps every mapping
 * aligned as the access needs.
 *
 * Return: 0, -EADDRINUSE if a mapping does not meet the access's alignment,
 * or -ENOMEM; on error nothing changed.
 */
int iopt_add_access(struct io_pagetable *iopt, struct iommufd_access *access)
{
	u32 id;
	int rc;

	down_write(&iopt->iova_rwsem);
	rc = xa_alloc(&iopt->access_list, &id, access, xa_limit_16b,
		      GFP_KERNEL_ACCOUNT);
	if (rc)
		goto out_unlock;
	rc = iopt_update_alignment(iopt);
	if (rc) {
		xa_erase(&iopt->access_list, id);
		goto out_unlock;
	}
	access->access_list_id = id;
out_unlock:
	up_write(&iopt->iova_rwsem);
	return rc;
}

/**
 * iopt_remove_access - detach an access from an io_pagetable
 * @iopt: the io_pagetable
 * @access: the access, which must have unpinned everything
 * @access_list_id: its index in @iopt's access list
 */
void iopt_remove_access(struct io_pagetable *iopt,
			struct iommufd_access *access, u32 access_list_id)
{
	down_write(&iopt->iova_rwsem);
	WARN_ON(xa_erase(&iopt->access_list, access_list_id) != access);
	/* A smaller alignment always fits the mappings. */
	WARN_ON(iopt_update_alignment(iopt));
	up_write(&iopt->iova_rwsem);
}

/**
 * iopt_reserve_dev_regions - keep a device's reserved regions unmapped
 * @iopt: the io_pagetable the device is attached to
 * @dev: the device, whose IOMMU driver names the regions (MSI windows,
 *	firmware-owned ranges)
 * @owner: the owner of the reservations, for iopt_remove_reserved_iova()
 *
 * Regions the device may do without (relaxable direct mappings) are left
 * alone.
 *
 * Return: 0, -EADDRINUSE if a mapping or an allowed range covers part of a
 * region, or -ENOMEM; on error nothing is reserved.
 */
int iopt_reserve_dev_regions(struct io_pagetable *iopt, struct device *dev,
			     void *owner)
{
	struct iommu_resv_region *resv;
	LIST_HEAD(regions);
	int rc = 0;

	iommu_get_resv_regions(dev, &regions);
	down_write(&iopt->iova_rwsem);
	list_for_each_entry(resv, &regions, list) {
		if (resv->type == IOMMU_RESV_DIRECT_RELAXABLE)
			continue;
		rc = iopt_reserve_iova(iopt, resv->start,
				       resv->start + resv->length - 1, owner);
		if (rc)
			break;
	}
	if (rc)
		__iopt_remove_reserved_iova(iopt, owner);
	up_write(&iopt->iova_rwsem);
	iommu_put_resv_regions(dev, &regions);
	return rc;
}

/*
 * Dirty tracking
 * ==============
 *
 * Both run under iova_rwsem held for reading: the areas cannot change, and
 * every area is mapped in the domain throughout, so the driver walks page
 * tables that stay put. Dirty bits cleared are flushed from the IOTLB
 * before returning, so a write that follows the report marks its page
 * dirty again.
 */

/* Read and clear (or only clear: @bitmap NULL) the dirty bits of a range. */
static int iopt_read_and_clear_range(struct io_pagetable *iopt,
				     struct iommu_domain *domain,
				     unsigned long first, unsigned long last,
				     unsigned long flags,
				     struct iova_bitmap *bitmap)
{
	const struct iommu_dirty_ops *ops = domain->dirty_ops;
	struct iommu_iotlb_gather gather;
	struct iommu_dirty_bitmap dirty = { .bitmap = bitmap };
	struct iopt_area_walk walk;
	struct iopt_area *area;
	int rc = 0;

	iommu_iotlb_gather_init(&gather);
	if (!(flags & IOMMU_DIRTY_NO_CLEAR))
		dirty.gather = &gather;

	for (area = iopt_area_walk_first(&walk, iopt, first, last); area;
	     area = iopt_area_walk_next(&walk)) {
		unsigned long piece_last = iopt_area_walk_piece_last(&walk);

		rc = ops->read_and_clear_dirty(domain, walk.cur_iova,
					       piece_last - walk.cur_iova + 1,
					       flags, &dirty);
		if (rc)
			break;
	}
	if (dirty.gather)
		iommu_iotlb_sync(domain, &gather);
	return rc;
}

struct iopt_dirty_report {
	struct io_pagetable *iopt;
	struct iommu_domain *domain;
	unsigned long flags;
};

static int iopt_dirty_report_fn(struct iova_bitmap *bitmap,
				unsigned long iova, size_t length,
				void *opaque)
{
	struct iopt_dirty_report *report = opaque;

	trace_iommufd_read_dirty(iova, length, report->flags);
	return iopt_read_and_clear_range(report->iopt, report->domain, iova,
					 iova + length - 1, report->flags,
					 bitmap);
}

/**
 * iopt_read_and_clear_dirty - report the dirty IOVAs of a range to userspace
 * @iopt: the io_pagetable @domain mirrors
 * @domain: a domain of @iopt with dirty_ops
 * @flags: IOMMU_DIRTY_NO_CLEAR or 0
 * @iova: the first IOVA of the range
 * @length: its length
 * @page_size: the IOVA one bit stands for, a power of 2
 * @data: the user bitmap
 *
 * The range must be aligned to @page_size and to the IOAS's alignment, and
 * mapped throughout; that is checked before any dirty bit is read, so that
 * an error leaves the record as it was. The first window of the bitmap is
 * pinned before reading too (which faults it in under iova_rwsem, as the
 * locking order allows).
 *
 * Return: 0, -EINVAL if the range is misaligned or part of it is not
 * mapped, -EFAULT if the bitmap cannot be written, or the driver's error.
 */
int iopt_read_and_clear_dirty(struct io_pagetable *iopt,
			      struct iommu_domain *domain, unsigned long flags,
			      unsigned long iova, unsigned long length,
			      unsigned long page_size, u64 __user *data)
{
	struct iopt_dirty_report report = {
		.iopt = iopt,
		.domain = domain,
		.flags = flags,
	};
	unsigned long alignment;
	struct iova_bitmap *bitmap;
	struct iopt_area_walk walk;
	struct iopt_area *area;
	int rc;

	down_read(&iopt->iova_rwsem);
	alignment = max(iopt->iova_alignment, page_size);
	if (iova % alignment || length % alignment) {
		rc = -EINVAL;
		goto out_unlock;
	}
	for (area = iopt_area_walk_first(&walk, iopt, iova, iova + length - 1);
	     area; area = iopt_area_walk_next(&walk))
		;
	if (!walk.done) {
		rc = -EINVAL;
		goto out_unlock;
	}

	bitmap = iova_bitmap_alloc(iova, length, page_size, data);
	if (IS_ERR(bitmap)) {
		rc = PTR_ERR(bitmap);
		goto out_unlock;
	}
	rc = iova_bitmap_for_each(bitmap, &report, iopt_dirty_report_fn);
	iova_bitmap_free(bitmap);
out_unlock:
	up_read(&iopt->iova_rwsem);
	return rc;
}

/**
 * iopt_set_dirty_tracking - start or stop tracking dirty IOVAs in a domain
 * @iopt: the io_pagetable @domain mirrors
 * @domain: a domain of @iopt with dirty_ops
 * @enable: start, or stop
 *
 * Starting forgets what was recorded before: every area's dirty bits are
 * cleared first.
 *
 * Return: 0 or the driver's negative errno.
 */
int iopt_set_dirty_tracking(struct io_pagetable *iopt,
			    struct iommu_domain *domain, bool enable)
{
	int rc = 0;

	down_read(&iopt->iova_rwsem);
	if (enable) {
		struct iopt_area *area;

		for (area = iopt_area_iter_first(iopt, 0, ULONG_MAX); area;
		     area = iopt_area_iter_next(area, 0, ULONG_MAX)) {
			rc = iopt_read_and_clear_range(iopt, domain,
						       iopt_area_iova(area),
						       iopt_area_last_iova(area),
						       0, NULL);
			if (rc)
				goto out_unlock;
		}
	}
	rc = domain->dirty_ops->set_dirty_tracking(domain, enable);
out_unlock:
	up_read(&iopt->iova_rwsem);
	return rc;
}
