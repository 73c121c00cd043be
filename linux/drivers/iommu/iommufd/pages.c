// SPDX-License-Identifier: GPL-2.0-only
/*
 * iopt_pages: a range of memory that IOAS areas map, from a process's
 * address space or from a shmem or hugetlbfs file.
 *
 * The object records where the memory comes from and whom to charge for
 * it (the mm, the task whose RLIMIT_MEMLOCK applies and the user) so that
 * pages can be pinned and accounted later, from any context, when a domain
 * or an access first needs them. See io_pagetable.h for when pages are
 * pinned.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/interval_tree_generic.h>
#include <linux/iommufd.h>
#include <linux/kthread.h>
#include <linux/magic.h>
#include <linux/overflow.h>
#include <linux/pagemap.h>
#include <linux/pin_file.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>

#include "io_pagetable.h"
#include "iommufd_trace.h"

/*
 * The filled areas of an iopt_pages by page index (pages->domains_itree):
 * an interval tree of its own, as an area's last index is computed from
 * its IOVA range instead of stored (see iopt_area_last_index()).
 */
INTERVAL_TREE_DEFINE(struct iopt_area, pages_rb, unsigned long,
		     pages_subtree_last, iopt_area_index, iopt_area_last_index,
		     /* not static */, iopt_filled_area)

/*
 * Maps that do not join the iopt_pages of a window of the address space
 * (see iopt_map_user_window()) each make one, file maps too: a cache of
 * their own packs them tighter than kmalloc-192, and iopt_alloc_pages()
 * sets every field rather than zeroing the object first.
 */
static struct kmem_cache *iopt_pages_cache;

/**
 * iopt_pages_cache_create - create the slab cache of iopt_pages
 *
 * Return: 0 or -ENOMEM.
 */
int iopt_pages_cache_create(void)
{
	iopt_pages_cache = kmem_cache_create("iommufd_pages",
					     sizeof(struct iopt_pages), 0,
					     SLAB_ACCOUNT, NULL);
	return iopt_pages_cache ? 0 : -ENOMEM;
}

/**
 * iopt_pages_cache_destroy - destroy the slab cache of iopt_pages
 *
 * Every iopt_pages must have been released.
 */
void iopt_pages_cache_destroy(void)
{
	kmem_cache_destroy(iopt_pages_cache);
}

/*
 * The part of an iopt_pages that does not depend on where the memory comes
 * from: bytes [start, start + length) of an address space or a file.
 */
static struct iopt_pages *iopt_alloc_pages(unsigned long start,
					   unsigned long length, u8 source,
					   bool writable, bool lock_cap)
{
	struct iopt_pages *pages;
	unsigned long end;

	if (!length)
		return ERR_PTR(-EINVAL);
	if (check_add_overflow(start, length, &end) ||
	    end > ULONG_MAX - PAGE_SIZE)
		return ERR_PTR(-EOVERFLOW);

	/* Not zeroed: every field is set here, the source's own by the caller. */
	pages = kmem_cache_alloc(iopt_pages_cache, GFP_KERNEL);
	if (!pages)
		return ERR_PTR(-ENOMEM);

	kref_init(&pages->kref);
	pages->source = source;
	pages->writable = writable;
	pages->copied = false;
	mutex_init(&pages->mutex);
	pages->npages = DIV_ROUND_UP(end, PAGE_SIZE) - start / PAGE_SIZE;
	pages->npinned = 0;
	pages->source_task = NULL;
	pages->source_user = NULL;
	pages->file = NULL;
	pages->file_start = 0;
	xa_init_flags(&pages->pinned_pfns, XA_FLAGS_ACCOUNT);
	pages->access_itree = RB_ROOT_CACHED;
	pages->domains_itree = RB_ROOT_CACHED;
	INIT_LIST_HEAD(&pages->move_item);
	pages->move_npinned = 0;

	/* Pins are charged to the caller: its mm, and its user or task. */
	pages->source_mm = current->mm;
	mmgrab(pages->source_mm);
	if (lock_cap) {
		/* Nothing is charged: no task or user to charge needed. */
		pages->account_mode = IOPT_PAGES_ACCOUNT_NONE;
		return pages;
	}
	pages->account_mode = IOPT_PAGES_ACCOUNT_USER;
	pages->source_task = current->group_leader;
	get_task_struct(pages->source_task);
	pages->source_user = get_uid(current_user());
	return pages;
}

/**
 * iopt_alloc_user_pages - describe a range of the current process's memory
 * @uptr: the start of the range
 * @length: its length in bytes
 * @writable: whether devices may write to it
 * @lock_cap: the caller has CAP_IPC_LOCK: its pins are not charged
 *
 * Nothing is pinned yet.
 *
 * Return: the new iopt_pages with one reference, or an ERR_PTR: -EINVAL for
 * a length of 0, -EOVERFLOW if the range wraps, -ENOMEM.
 */
struct iopt_pages *iopt_alloc_user_pages(void __user *uptr,
					 unsigned long length, bool writable,
					 bool lock_cap)
{
	struct iopt_pages *pages;

	pages = iopt_alloc_pages((unsigned long)uptr, length, IOPT_PAGES_USER,
				 writable, lock_cap);
	if (IS_ERR(pages))
		return pages;
	pages->uptr = (void __user *)((unsigned long)uptr & PAGE_MASK);
	return pages;
}

/*
 * is_file_hugepages() reads hugetlbfs_file_operations, which a module cannot
 * reach; for a file that can be mapped, its superblock says the same.
 */
static bool iopt_file_is_hugetlbfs(struct file *file)
{
	return IS_ENABLED(CONFIG_HUGETLBFS) &&
	       file_inode(file)->i_sb->s_magic == HUGETLBFS_MAGIC;
}

/**
 * iopt_alloc_file_pages - describe a range of a shmem or hugetlbfs file
 * @file: the file; the new iopt_pages takes a reference on it
 * @start: the file offset of the range
 * @length: its length in bytes
 * @writable: whether devices may write to it
 * @readable: whether devices may read it
 *
 * The pages come from the file's page cache when a domain or an access
 * first needs them, not through any user mapping. A writable range counts
 * as a writable mapping of the file until the iopt_pages is freed, so the
 * file cannot be sealed against writes meanwhile. Nothing is pinned yet.
 *
 * Return: the new iopt_pages with one reference, or an ERR_PTR: -EINVAL for
 * a file that is neither shmem nor hugetlbfs, a length of 0 or a range that
 * ends past the end of the file; -EPERM to write through a file not opened
 * for writing, or sealed against writes, or to read through a file not
 * opened for reading; -EOVERFLOW if the range wraps; -ENOMEM.
 */
struct iopt_pages *iopt_alloc_file_pages(struct file *file, u64 start,
					 unsigned long length, bool writable,
					 bool readable)
{
	struct iopt_pages *pages;
	u64 end;
	int rc;

	if (!shmem_file(file) && !iopt_file_is_hugetlbfs(file))
		return ERR_PTR(-EINVAL);
	if (check_add_overflow(start, (u64)length, &end) || end > LLONG_MAX)
		return ERR_PTR(-EOVERFLOW);
	if (end > i_size_read(file_inode(file)))
		return ERR_PTR(-EINVAL);
	if ((writable && !(file->f_mode & FMODE_WRITE)) ||
	    (readable && !(file->f_mode & FMODE_READ)))
		return ERR_PTR(-EPERM);
	if (writable) {
		rc = pin_file_map_writable(file);
		if (rc)
			return ERR_PTR(rc);
	}

	pages = iopt_alloc_pages(start, length, IOPT_PAGES_FILE, writable,
				 capable(CAP_IPC_LOCK));
	if (IS_ERR(pages)) {
		if (writable)
			mapping_unmap_writable(file->f_mapping);
		return pages;
	}
	pages->file = get_file(file);
	pages->file_start = start & PAGE_MASK;
	return pages;
}

/**
 * iopt_release_pages - free an iopt_pages once its last reference is gone
 * @kref: the iopt_pages's kref
 */
void iopt_release_pages(struct kref *kref)
{
	struct iopt_pages *pages = container_of(kref, struct iopt_pages, kref);

	/* Whoever pinned pages must have unpinned them before letting go. */
	WARN_ON(pages->npinned);
	WARN_ON(!RB_EMPTY_ROOT(&pages->access_itree.rb_root));
	WARN_ON(!RB_EMPTY_ROOT(&pages->domains_itree.rb_root));
	WARN_ON(!xa_empty(&pages->pinned_pfns));
	WARN_ON(!list_empty(&pages->move_item));
	if (pages->source == IOPT_PAGES_FILE) {
		if (pages->writable)
			mapping_unmap_writable(pages->file->f_mapping);
		fput(pages->file);
	}
	mmdrop(pages->source_mm);
	mutex_destroy(&pages->mutex);
	if (pages->source_task)
		put_task_struct(pages->source_task);
	free_uid(pages->source_user);
	kmem_cache_free(iopt_pages_cache, pages);
}

/*
 * Pinning and domain filling
 * ==========================
 *
 * Work proceeds in chunks of page indexes small enough that their PFNs fit
 * the temporary budget (iommufd_test_memory_limit in test kernels). For a
 * chunk, the PFN of each page comes from, in order: the access xarray, the
 * storage domain of another filled area covering it, or a new pin of the
 * user memory. Only new pins are charged, so a page is charged once however
 * many users it has. When a user lets go, each page no other user needs is
 * unpinned and uncharged.
 */

#define IOPT_DEFAULT_TEMP_MEMORY 65536

static unsigned long iopt_chunk_pages(void)
{
	size_t bytes = IOPT_DEFAULT_TEMP_MEMORY;

#ifdef CONFIG_IOMMUFD_TEST
	bytes = iommufd_test_memory_limit;
#endif
	return max_t(size_t, bytes / sizeof(unsigned long), 1);
}

/*
 * The temporary PFN buffer of a walk: one chunk, no larger than what is
 * walked. Small walks, such as the single-page maps and unmaps QEMU makes
 * by the thousand for a guest with a vIOMMU, use the stack instead of an
 * allocation.
 */
#define IOPT_PFN_BUFFER_STACK 16

struct iopt_pfn_buffer {
	unsigned long *pfns;
	unsigned long len;
	unsigned long stack[IOPT_PFN_BUFFER_STACK];
};

/* A buffer for walking @npages pages: 0 or -ENOMEM. */
static int iopt_pfn_buffer_init(struct iopt_pfn_buffer *buf,
				unsigned long npages)
{
	buf->len = min(iopt_chunk_pages(), npages);
	buf->pfns = buf->stack;
	if (buf->len <= IOPT_PFN_BUFFER_STACK)
		return 0;
	buf->pfns = kvmalloc_array(buf->len, sizeof(*buf->pfns),
				   GFP_KERNEL_ACCOUNT);
	if (!buf->pfns) {
		/* What cannot fail may still go on with the stack. */
		buf->pfns = buf->stack;
		buf->len = IOPT_PFN_BUFFER_STACK;
		return -ENOMEM;
	}
	return 0;
}

static void iopt_pfn_buffer_destroy(struct iopt_pfn_buffer *buf)
{
	if (buf->pfns != buf->stack)
		kvfree(buf->pfns);
}

static unsigned long iopt_area_npages(struct iopt_area *area)
{
	return iopt_area_last_index(area) - iopt_area_index(area) + 1;
}

/*
 * The RLIMIT_MEMLOCK charges, by owner: @npages more locked pages for a
 * user (IOPT_PAGES_ACCOUNT_USER) or an mm (IOPT_PAGES_ACCOUNT_MM), within
 * the limit of @task.
 */
static int iopt_charge(u8 account_mode, struct user_struct *user,
		       struct mm_struct *mm, struct task_struct *task,
		       unsigned long npages)
{
	unsigned long limit, cur, new;
	int rc;

	if (!npages)
		return 0;
	switch (account_mode) {
	case IOPT_PAGES_ACCOUNT_USER:
		limit = task_rlimit(task, RLIMIT_MEMLOCK) >> PAGE_SHIFT;
		cur = atomic_long_read(&user->locked_vm);
		do {
			new = cur + npages;
			if (new > limit || new < cur)
				return -ENOMEM;
		} while (!atomic_long_try_cmpxchg(&user->locked_vm, &cur, new));
		break;
	case IOPT_PAGES_ACCOUNT_MM:
		if (!mmget_not_zero(mm))
			return -EFAULT;
		mmap_write_lock(mm);
		rc = __account_locked_vm(mm, npages, true, task, false);
		mmap_write_unlock(mm);
		mmput(mm);
		if (rc)
			return rc;
		break;
	}
	return 0;
}

static void iopt_uncharge(u8 account_mode, struct user_struct *user,
			  struct mm_struct *mm, struct task_struct *task,
			  unsigned long npages)
{
	if (!npages)
		return;
	switch (account_mode) {
	case IOPT_PAGES_ACCOUNT_USER:
		atomic_long_sub(npages, &user->locked_vm);
		break;
	case IOPT_PAGES_ACCOUNT_MM:
		/* The mm may be gone already; mmgrab() keeps the counters. */
		if (mmget_not_zero(mm)) {
			mmap_write_lock(mm);
			__account_locked_vm(mm, npages, false, task, false);
			mmap_write_unlock(mm);
			mmput(mm);
		} else {
			mm->locked_vm -= npages;
		}
		break;
	}
}

static int iopt_pages_charge(struct iopt_pages *pages, unsigned long npages)
{
	int rc;

	rc = iopt_charge(pages->account_mode, pages->source_user,
			 pages->source_mm, pages->source_task, npages);
	if (rc)
		return rc;
	atomic64_add(npages, &pages->source_mm->pinned_vm);
	pages->npinned += npages;
	return 0;
}

static void iopt_pages_uncharge(struct iopt_pages *pages, unsigned long npages)
{
	if (!npages || WARN_ON(pages->npinned < npages))
		return;
	iopt_uncharge(pages->account_mode, pages->source_user,
		      pages->source_mm, pages->source_task, npages);
	atomic64_sub(npages, &pages->source_mm->pinned_vm);
	pages->npinned -= npages;
}

/**
 * iopt_charge_current - charge pins to the calling process
 * @user_pages: pages of IOPT_PAGES_ACCOUNT_USER iopt_pages
 * @mm_pages: pages of IOPT_PAGES_ACCOUNT_MM iopt_pages
 *
 * The first half of moving iopt_pages to the calling process: charge, all
 * or nothing, what they have pinned against its RLIMIT_MEMLOCK, before
 * iopt_pages_move_to_current() moves each of them.
 *
 * Return: 0, or -ENOMEM (or -EFAULT) with nothing charged.
 */
int iopt_charge_current(unsigned long user_pages, unsigned long mm_pages)
{
	struct task_struct *task = current->group_leader;
	int rc;

	rc = iopt_charge(IOPT_PAGES_ACCOUNT_USER, current_user(), current->mm,
			 task, user_pages);
	if (rc)
		return rc;
	rc = iopt_charge(IOPT_PAGES_ACCOUNT_MM, current_user(), current->mm,
			 task, mm_pages);
	if (rc)
		iopt_uncharge(IOPT_PAGES_ACCOUNT_USER, current_user(),
			      current->mm, task, user_pages);
	return rc;
}

/**
 * iopt_pages_charged_to_current - whether the caller's counters hold @pages
 * @pages: the pages
 *
 * Return: true if moving @pages to the caller would move no charge: its
 * RLIMIT_MEMLOCK charge, if any, is on the caller's user or mm already.
 */
bool iopt_pages_charged_to_current(struct iopt_pages *pages)
{
	switch (pages->account_mode) {
	case IOPT_PAGES_ACCOUNT_USER:
		return pages->source_user == current_user();
	case IOPT_PAGES_ACCOUNT_MM:
		return pages->source_mm == current->mm;
	}
	return true;
}

/**
 * iopt_pages_move_to_current - make the calling process the owner of pages
 * @pages: the pages, whose pins iopt_charge_current() charged already
 *	unless iopt_pages_charged_to_current(); nothing may pin more of
 *	them meanwhile but for a moment under their mutex (the caller holds
 *	pin_growth_rwsem for writing)
 *
 * The pins leave the old owner's counters (locked_vm, pinned_vm) for the
 * caller's, and later pins and unpins are charged to the caller.
 */
void iopt_pages_move_to_current(struct iopt_pages *pages)
{
	mutex_lock(&pages->mutex);
	if (!iopt_pages_charged_to_current(pages)) {
		iopt_uncharge(pages->account_mode, pages->source_user,
			      pages->source_mm, pages->source_task,
			      pages->npinned);
		/*
		 * An unmap or an IOAS destroy, which pin_growth_rwsem does
		 * not hold back, may have unpinned some since they were
		 * counted (and uncharged the old owner for them): the caller
		 * was charged for those too.
		 */
		if (!WARN_ON(pages->npinned > pages->move_npinned))
			iopt_uncharge(pages->account_mode, current_user(),
				      current->mm, current->group_leader,
				      pages->move_npinned - pages->npinned);
	}
	if (pages->source_mm != current->mm) {
		atomic64_sub(pages->npinned, &pages->source_mm->pinned_vm);
		atomic64_add(pages->npinned, &current->mm->pinned_vm);
	}
	mmdrop(pages->source_mm);
	pages->source_mm = current->mm;
	mmgrab(pages->source_mm);
	if (pages->account_mode != IOPT_PAGES_ACCOUNT_NONE) {
		put_task_struct(pages->source_task);
		pages->source_task = current->group_leader;
		get_task_struct(pages->source_task);
		free_uid(pages->source_user);
		pages->source_user = get_uid(current_user());
	}
	mutex_unlock(&pages->mutex);
}

/* User memory: pin_user_pages, from the memory's own mm or another one. */
static long iopt_pages_pin_user(struct iopt_pages *pages, unsigned long index,
				unsigned long n, struct page **out)
{
	unsigned long uaddr = (unsigned long)pages->uptr + index * PAGE_SIZE;
	unsigned int flags = FOLL_LONGTERM | (pages->writable ? FOLL_WRITE : 0);
	long rc;

	n = min_t(unsigned long, n, INT_MAX);
	if (current->mm == pages->source_mm)
		return pin_user_pages_fast(uaddr, n, flags, out);

	if (!mmget_not_zero(pages->source_mm))
		return -EFAULT;
	mmap_read_lock(pages->source_mm);
	rc = pin_user_pages_remote(pages->source_mm, uaddr, n, flags, out,
				   NULL, NULL);
	mmap_read_unlock(pages->source_mm);
	mmput(pages->source_mm);
	return rc;
}

/* Pin up to @n pages from @index on; returns how many, or an errno. */
static long iopt_pages_pin(struct iopt_pages *pages, unsigned long index,
			   unsigned long n, struct page **out)
{
	loff_t pos;

	if (iommufd_should_fail())
		return -ENOMEM;
	if (pages->source == IOPT_PAGES_USER)
		return iopt_pages_pin_user(pages, index, n, out);

	pos = pages->file_start + (loff_t)index * PAGE_SIZE;
	return pin_file_pages(pages->file, pos >> PAGE_SHIFT, n, out);
}

/*
 * Read back the PFNs of pages [index, index + n) that a filled area's
 * storage domain maps, in one pass over the domain's page table. The IOVA
 * of byte 0 of a page is mapped, but for the area's first page, which may
 * start further in: the area remembers that one.
 */
static void iopt_area_read_pfns(struct iopt_area *area, unsigned long index,
				unsigned long *pfns, unsigned long n)
{
	unsigned long read;

	if (n && index == iopt_area_index(area)) {
		*pfns++ = area->first_pfn;
		index++;
		n--;
	}
	if (!n)
		return;
	read = iommu_iova_to_pfns(area->storage_domain,
				  iopt_area_index_to_iova(area, index), n,
				  pfns);
	/* A filled area is mapped in full. */
	if (WARN_ON(read != n))
		memset(pfns + read, 0, (n - read) * sizeof(*pfns));
}

/**
 * iopt_pages_span - find the run of pages that starts at an index
 * @pages: the pages, whose mutex the caller holds
 * @index: the first page index of the span
 * @last: the last index the caller is interested in
 * @skip: an area whose own use of the pages does not count, or NULL
 * @span: the span found
 *
 * Every page of the span has the same kind of user: an access (its PFN is
 * in pinned_pfns), a filled area other than @skip (whose storage domain
 * maps it), or nothing. Accesses win over areas. Two interval tree lookups
 * find a span whatever its length, so no caller asks page by page.
 */
void iopt_pages_span(struct iopt_pages *pages, unsigned long index,
		     unsigned long last, struct iopt_area *skip,
		     struct iopt_pages_span *span)
{
	struct interval_tree_node *node;
	struct iopt_area *area = NULL;

	lockdep_assert_held(&pages->mutex);

	node = interval_tree_iter_first(&pages->access_itree, index, last);
	/* The overlapping range that starts first covers @index, if any does. */
	if (node && node->start <= index) {
		span->user = IOPT_SPAN_ACCESS;
		span->area = NULL;
		span->last = min(node->last, last);
		return;
	}
	if (node)
		last = node->start - 1;

	for (area = iopt_filled_area_iter_first(&pages->domains_itree, index,
						last);
	     area && area == skip;
	     area = iopt_filled_area_iter_next(area, index, last))
		;
	if (area && iopt_area_index(area) <= index) {
		span->user = IOPT_SPAN_AREA;
		span->area = area;
		span->last = min(iopt_area_last_index(area), last);
		return;
	}
	if (area)
		last = iopt_area_index(area) - 1;
	span->user = IOPT_SPAN_UNUSED;
	span->area = NULL;
	span->last = last;
}

/*
 * Unpinning goes run by run: physically contiguous pages, such as those of
 * a huge page, are unpinned in one call, folio by folio.
 */
struct iopt_unpin_run {
	unsigned long first_pfn;
	unsigned long npages;
};

static void iopt_unpin_run_flush(struct iopt_pages *pages,
				 struct iopt_unpin_run *run)
{
	if (run->npages)
		unpin_user_page_range_dirty_lock(pfn_to_page(run->first_pfn),
						 run->npages, pages->writable);
	run->npages = 0;
}

static void iopt_unpin_run_add(struct iopt_pages *pages,
			       struct iopt_unpin_run *run, unsigned long pfn)
{
	/* The run's struct pages must be contiguous too, for any memory model. */
	if (run->npages && pfn == run->first_pfn + run->npages &&
	    pfn_to_page(pfn) == pfn_to_page(run->first_pfn) + run->npages) {
		run->npages++;
		return;
	}
	iopt_unpin_run_flush(pages, run);
	run->first_pfn = pfn;
	run->npages = 1;
}

/*
 * Unpin the pages of [index, index + n) that no user other than @skip
 * needs, and uncharge them. Their PFNs are @pfns or, if @pfns is NULL, run
 * on from @first_pfn: each such span is unpinned as one range, a folio at
 * a time, without a look at every page.
 */
static void iopt_pages_release_pfns(struct iopt_pages *pages,
				    unsigned long index,
				    const unsigned long *pfns,
				    unsigned long first_pfn, unsigned long n,
				    struct iopt_area *skip)
{
	unsigned long cur = index, last = index + n - 1, released = 0;
	struct iopt_unpin_run run = {};
	struct iopt_pages_span span;

	if (!n)
		return;
	while (cur <= last) {
		iopt_pages_span(pages, cur, last, skip, &span);
		if (span.user != IOPT_SPAN_UNUSED) {
			cur = span.last + 1;
			continue;
		}
		released += span.last - cur + 1;
		if (!pfns) {
			struct page *page = pfn_to_page(first_pfn + cur - index);

			/* It steps with nth_page(): the memmap may have holes. */
			unpin_user_page_range_dirty_lock(page,
							 span.last - cur + 1,
							 pages->writable);
			cur = span.last + 1;
			continue;
		}
		for (; cur <= span.last; cur++)
			iopt_unpin_run_add(pages, &run, pfns[cur - index]);
	}
	iopt_unpin_run_flush(pages, &run);
	iopt_pages_uncharge(pages, released);
	if (released)
		trace_iommufd_unpin(pages, index, released, pages->npinned);
}

static void iopt_pages_release(struct iopt_pages *pages, unsigned long index,
			       const unsigned long *pfns, unsigned long n,
			       struct iopt_area *skip)
{
	iopt_pages_release_pfns(pages, index, pfns, 0, n, skip);
}

/* Read the PFNs of [index, last], all pinned for accesses, from the xarray. */
static void iopt_pages_read_xarray(struct iopt_pages *pages,
				   unsigned long index, unsigned long last,
				   unsigned long *pfns)
{
	XA_STATE(xas, &pages->pinned_pfns, index);
	void *entry;

	rcu_read_lock();
	xas_for_each(&xas, entry, last) {
		if (xas_retry(&xas, entry))
			continue;
		pfns[xas.xa_index - index] = xa_to_value(entry);
	}
	rcu_read_unlock();
}

/*
 * Pin and charge pages from @index on, at most to @last, into @pfns;
 * returns how many, or a negative errno with nothing pinned or charged.
 */
static long iopt_pages_pin_pfns(struct iopt_pages *pages, unsigned long index,
				unsigned long last, unsigned long *pfns)
{
	unsigned long n = last - index + 1;
	long rc, i;

	rc = iopt_pages_charge(pages, n);
	if (rc)
		return rc;
	/* struct page pointers and PFNs have the same size. */
	rc = iopt_pages_pin(pages, index, n, (struct page **)pfns);
	if (rc <= 0) {
		iopt_pages_uncharge(pages, n);
		return rc ? rc : -EFAULT;
	}
	if ((unsigned long)rc < n)
		iopt_pages_uncharge(pages, n - rc);
	trace_iommufd_pin(pages, index, rc, pages->npinned);
	for (i = 0; i != rc; i++)
		pfns[i] = page_to_pfn(((struct page **)pfns)[i]);
	return rc;
}

/*
 * Get the PFNs of [index, index + n) into @pfns, span by span: from the
 * xarray where accesses pinned them, from another filled area's storage
 * domain, or by pinning (and charging) the pages nobody but @skip uses.
 */
static int iopt_pages_get_pfns(struct iopt_pages *pages, unsigned long index,
			       unsigned long n, unsigned long *pfns,
			       struct iopt_area *skip)
{
	unsigned long cur = index, last = index + n - 1;
	struct iopt_pages_span span;
	long rc;

	while (cur <= last) {
		unsigned long *out = pfns + (cur - index);

		iopt_pages_span(pages, cur, last, skip, &span);
		switch (span.user) {
		case IOPT_SPAN_ACCESS:
			iopt_pages_read_xarray(pages, cur, span.last, out);
			break;
		case IOPT_SPAN_AREA:
			iopt_area_read_pfns(span.area, cur, out,
					    span.last - cur + 1);
			break;
		case IOPT_SPAN_UNUSED:
			rc = iopt_pages_pin_pfns(pages, cur, span.last, out);
			if (rc < 0) {
				iopt_pages_release(pages, index, pfns,
						   cur - index, skip);
				return rc;
			}
			/* A short pin: the rest is pinned next round. */
			span.last = cur + rc - 1;
			break;
		}
		cur = span.last + 1;
	}
	return 0;
}

/* The largest IO page any of @domains may use. */
static unsigned long iopt_largest_pgsize(struct iommu_domain **domains,
					 unsigned int ndomains)
{
	unsigned long largest = 0;
	unsigned int d;

	for (d = 0; d != ndomains; d++)
		largest = max(largest, 1UL << __fls(domains[d]->pgsize_bitmap));
	return largest;
}

/*
 * Map the pages [index, index + n) of @area, whose PFNs are @pfns, into
 * @domain. Physically contiguous runs are mapped at once so the IOMMU can
 * use large pages, unless @iopt, the area's table, forbids them.
 */
int iopt_area_map_pfns(struct io_pagetable *iopt, struct iopt_area *area,
		       struct iommu_domain *domain, unsigned long index,
		       const unsigned long *pfns, unsigned long n)
{
	unsigned long start = iopt_area_index_to_iova(area, index);
	bool merge = !iopt->disable_large_pages;
	unsigned long i = 0, mapped_last = 0, block = 0;
	bool mapped = false;
	int rc;

	/*
	 * A mapping that may be cut anywhere (VFIO_TYPE1_IOMMU) maps no run
	 * across a boundary of the domain's largest IO page: a virtio-iommu
	 * map request can be as long as the call, and could not be cut by
	 * iopt_area_remap_for_cut() at such a boundary.
	 */
	if (merge && iopt->cut_anywhere)
		block = max(iopt_largest_pgsize(&domain, 1), PAGE_SIZE);
	while (i != n) {
		unsigned long first = i, iova, last, phys;

		while (merge && i + 1 != n && pfns[i + 1] == pfns[i] + 1) {
			unsigned long next;

			next = iopt_area_index_to_iova(area, index + i + 1);
			if (block && !(next & (block - 1)))
				break;
			i++;
		}
		iova = iopt_area_index_to_iova(area, index + first);
		last = iopt_area_index_to_last_iova(area, index + i);
		/* Only the area's first page starts inside the page. */
		phys = PFN_PHYS(pfns[first]);
		if (index + first == iopt_area_index(area))
			phys += area->page_offset;
		rc = iommu_map(domain, iova, phys, last - iova + 1,
			       area->iommu_prot);
		if (rc)
			goto err_unmap;
		mapped_last = last;
		mapped = true;
		i++;
	}
	return 0;

err_unmap:
	if (mapped)
		iommu_unmap(domain, start, mapped_last - start + 1);
	return rc;
}

/* Unmap the pages [index, index + n) of @area from @domain. */
void iopt_area_unmap_pfns(struct iopt_area *area, struct iommu_domain *domain,
			  unsigned long index, unsigned long n)
{
	unsigned long iova = iopt_area_index_to_iova(area, index);
	unsigned long last = iopt_area_index_to_last_iova(area, index + n - 1);
	size_t unmapped;

	unmapped = iommu_unmap(domain, iova, last - iova + 1);
	WARN_ON(unmapped != last - iova + 1);
}

/*
 * The last pages an unfill has read from the storage domain but not yet
 * unmapped: a physically contiguous run from @first_pfn, which the next
 * chunk may continue, so no IO page boundary is known inside it.
 */
struct iopt_unfill_run {
	unsigned long index;
	unsigned long first_pfn;
	unsigned long npages;
};

/*
 * Unmap from @domains, with one call each, the pending run and the
 * following @n pages of the chunk at @index, whose PFNs are @pfns; then
 * release both. The run is released as one range, without its PFNs.
 */
static void iopt_area_unfill_upto(struct iopt_area *area,
				  struct iommu_domain **domains,
				  unsigned int ndomains,
				  struct iopt_unfill_run *run,
				  unsigned long index, const unsigned long *pfns,
				  unsigned long n)
{
	unsigned long first = run->npages ? run->index : index;
	unsigned int d;

	if (!run->npages && !n)
		return;
	for (d = 0; d != ndomains; d++)
		iopt_area_unmap_pfns(area, domains[d], first,
				     index + n - first);
	iopt_pages_release_pfns(area->pages, run->index, NULL, run->first_pfn,
				run->npages, area);
	iopt_pages_release(area->pages, index, pfns, n, area);
	run->npages = 0;
}

/*
 * Take [index, last] of an area out of @domains (the area must be out of
 * domains_itree, so that its own pages count as unused), reading the PFNs
 * from domains[0] and unpinning what no one else needs.
 *
 * An unmap that ends inside a large IO page takes all of it (VT-d,
 * AMD-Vi), and the pages past the cut then read back as unmapped; one that
 * starts inside it is a bug. A large IO page lies within a physically
 * contiguous run that one iommu_map() mapped, and no larger than the
 * domain's largest page size, so an unmap may end where the PFNs break,
 * at an IOVA aligned to that size, or at @last. The buffer may be smaller
 * than what the fill used (its allocation failed, or the test budget
 * changed), so a chunk's end is no such place: each chunk is unmapped up
 * to the last one inside it, and the run after that waits for the next
 * chunk. Each page is read once, and the scan for the cut stops at the
 * first one from the chunk's end.
 */
static void iopt_area_unfill_range(struct io_pagetable *iopt,
				   struct iopt_area *area,
				   struct iommu_domain **domains,
				   unsigned int ndomains, unsigned long index,
				   unsigned long last, struct iopt_pfn_buffer *buf)
{
	struct iommu_domain *storage = area->storage_domain;
	bool merge = !iopt->disable_large_pages;
	unsigned long max_pgsize = iopt_largest_pgsize(domains, ndomains);
	struct iopt_unfill_run run = {};
	unsigned long *pfns = buf->pfns;

	area->storage_domain = domains[0];
	while (index <= last) {
		unsigned long n = min(buf->len, last - index + 1);
		/* Where page @index would start, even the area's first. */
		unsigned long iova = iopt_area_iova(area) - area->page_offset +
				     (index - iopt_area_index(area)) * PAGE_SIZE;
		unsigned long tail, aligned;

		iopt_area_read_pfns(area, index, pfns, n);
		if (index + n - 1 == last || !merge) {
			/* No large IO pages, or the last chunk. */
			iopt_area_unfill_upto(area, domains, ndomains, &run,
					      index, pfns, n);
			index += n;
			continue;
		}
		/* The chunk's last page at an IOVA aligned to max_pgsize. */
		aligned = ALIGN_DOWN(iova + (n - 1) * PAGE_SIZE, max_pgsize);
		aligned = aligned > iova ? (aligned - iova) / PAGE_SIZE : 0;
		for (tail = n - 1; tail > aligned; tail--)
			if (pfns[tail] != pfns[tail - 1] + 1)
				break;
		if (!tail && run.npages &&
		    pfns[0] == run.first_pfn + run.npages &&
		    iova & (max_pgsize - 1)) {
			/* The whole chunk goes on with the run. */
			run.npages += n;
		} else {
			iopt_area_unfill_upto(area, domains, ndomains, &run,
					      index, pfns, tail);
			run.index = index + tail;
			run.first_pfn = pfns[tail];
			run.npages = n - tail;
		}
		index += n;
		cond_resched();
	}
	area->storage_domain = storage;
}

/**
 * iopt_area_fill_domains - pin an area's pages and map them into domains
 * @iopt: the io_pagetable of the area; the caller holds its
 *	pin_growth_rwsem for reading
 * @area: the area, not yet filled
 * @domains: the domains of the area's io_pagetable
 * @ndomains: how many; at least one
 *
 * Return: 0, with the area filled and @domains[0] its storage domain, or a
 * negative errno with nothing changed.
 */
int iopt_area_fill_domains(struct io_pagetable *iopt, struct iopt_area *area,
			   struct iommu_domain **domains, unsigned int ndomains)
{
	struct iopt_pages *pages = area->pages;
	unsigned long index = iopt_area_index(area);
	unsigned long last = iopt_area_last_index(area);
	struct iopt_pfn_buffer buf;
	int rc;

	/* Pinning more: IOMMU_IOAS_CHANGE_PROCESS must not be counting. */
	lockdep_assert_held(iopt->pin_growth_rwsem);
	lockdep_assert_held(&iopt->iova_rwsem);

	rc = iopt_pfn_buffer_init(&buf, iopt_area_npages(area));
	if (rc)
		return rc;

	mutex_lock(&pages->mutex);
	while (index <= last) {
		unsigned long n = min(buf.len, last - index + 1);
		unsigned int d;

		rc = iopt_pages_get_pfns(pages, index, n, buf.pfns, area);
		if (rc)
			goto err_unfill;
		if (index == iopt_area_index(area))
			area->first_pfn = buf.pfns[0];
		for (d = 0; d != ndomains; d++) {
			rc = iopt_area_map_pfns(iopt, area, domains[d], index,
						buf.pfns, n);
			if (rc)
				break;
		}
		if (rc) {
			while (d--)
				iopt_area_unmap_pfns(area, domains[d], index, n);
			iopt_pages_release(pages, index, buf.pfns, n, area);
			goto err_unfill;
		}
		index += n;
	}
	area->storage_domain = domains[0];
	iopt_filled_area_insert(area, &pages->domains_itree);
	mutex_unlock(&pages->mutex);
	iopt_pfn_buffer_destroy(&buf);
	return 0;

err_unfill:
	if (index != iopt_area_index(area))
		iopt_area_unfill_range(iopt, area, domains, ndomains,
				       iopt_area_index(area), index - 1, &buf);
	mutex_unlock(&pages->mutex);
	iopt_pfn_buffer_destroy(&buf);
	return rc;
}

/**
 * iopt_area_unfill_domains - unmap a filled area and unpin its pages
 * @iopt: the io_pagetable of the area
 * @area: the area
 * @domains: the domains of the area's io_pagetable
 * @ndomains: how many
 *
 * Pages that another area or an access still uses stay pinned.
 */
void iopt_area_unfill_domains(struct io_pagetable *iopt,
			      struct iopt_area *area,
			      struct iommu_domain **domains,
			      unsigned int ndomains)
{
	struct iopt_pages *pages = area->pages;
	struct iopt_pfn_buffer buf;

	lockdep_assert_held(&iopt->iova_rwsem);
	/* Without memory for a chunk, the stack's few pages at a time. */
	iopt_pfn_buffer_init(&buf, iopt_area_npages(area));

	mutex_lock(&pages->mutex);
	iopt_filled_area_remove(area, &pages->domains_itree);
	iopt_area_unfill_range(iopt, area, domains, ndomains,
			       iopt_area_index(area), iopt_area_last_index(area),
			       &buf);
	area->storage_domain = NULL;
	mutex_unlock(&pages->mutex);
	iopt_pfn_buffer_destroy(&buf);
}

/**
 * iopt_area_fill_domain - map a filled area into one more domain
 * @iopt: the io_pagetable of the area
 * @area: the area, filled in its other domains
 * @domain: the new domain
 *
 * The PFNs are read from the area's storage domain: nothing is pinned.
 *
 * Return: 0, or a negative errno with @domain unchanged.
 */
int iopt_area_fill_domain(struct io_pagetable *iopt, struct iopt_area *area,
			  struct iommu_domain *domain)
{
	unsigned long index = iopt_area_index(area);
	unsigned long last = iopt_area_last_index(area);
	struct iopt_pfn_buffer buf;
	int rc;

	lockdep_assert_held(&iopt->iova_rwsem);
	rc = iopt_pfn_buffer_init(&buf, iopt_area_npages(area));
	if (rc)
		return rc;

	mutex_lock(&area->pages->mutex);
	while (index <= last) {
		unsigned long n = min(buf.len, last - index + 1);

		iopt_area_read_pfns(area, index, buf.pfns, n);
		rc = iopt_area_map_pfns(iopt, area, domain, index, buf.pfns,
					n);
		if (rc)
			break;
		index += n;
	}
	if (rc && index != iopt_area_index(area))
		iopt_area_unmap_pfns(area, domain, iopt_area_index(area),
				     index - iopt_area_index(area));
	mutex_unlock(&area->pages->mutex);
	iopt_pfn_buffer_destroy(&buf);
	return rc;
}

/**
 * iopt_area_unmap_domain - unmap a filled area from one of its domains
 * @area: the area, which stays filled in its other domains
 * @domain: the domain; must not be the area's storage domain
 */
void iopt_area_unmap_domain(struct iopt_area *area,
			    struct iommu_domain *domain)
{
	WARN_ON(area->storage_domain == domain);
	iopt_area_unmap_pfns(area, domain, iopt_area_index(area),
			     iopt_area_last_index(area) -
				     iopt_area_index(area) + 1);
}

/*
 * The pages around page @cut_index of a filled area, within [@lo, @hi], that
 * are physically contiguous with it: *@first and *@last, by index. PFNs are
 * read a buffer at a time, down from the cut and then up from it.
 */
static void iopt_area_contiguous_around(struct iopt_area *area,
					unsigned long cut_index,
					unsigned long lo, unsigned long hi,
					struct iopt_pfn_buffer *buf,
					unsigned long *first, unsigned long *last)
{
	unsigned long cut_pfn, index, n, i;

	iopt_area_read_pfns(area, cut_index, &cut_pfn, 1);
	*first = cut_index;
	while (*first > lo) {
		n = min(buf->len, *first - lo);
		iopt_area_read_pfns(area, *first - n, buf->pfns, n);
		for (i = n; i; i--) {
			index = *first - n + i - 1;
			if (buf->pfns[i - 1] != cut_pfn - (cut_index - index))
				break;
		}
		*first -= n - i;
		if (i)
			break;
		cond_resched();
	}
	*last = cut_index;
	while (*last < hi) {
		n = min(buf->len, hi - *last);
		iopt_area_read_pfns(area, *last + 1, buf->pfns, n);
		for (i = 0; i != n; i++) {
			index = *last + 1 + i;
			if (buf->pfns[i] != cut_pfn + (index - cut_index))
				break;
		}
		*last += i;
		if (i != n)
			break;
		cond_resched();
	}
}

/**
 * iopt_area_remap_for_cut - split the large IO pages a cut would go through
 * @iopt: the io_pagetable of the area, whose every domain is remapped
 * @area: a filled area, to be cut before IOVA @cut
 * @cut: the first IOVA after the cut; inside the area, past its start, at
 *	a CPU page boundary of its memory
 *
 * VFIO_TYPE1_IOMMU may unmap any part of a mapping; with large IO pages
 * kept, a cut can fall inside one. VT-d, AMD-Vi and virtio-iommu cannot
 * split one in place (io-pgtable-arm can, but not on request), so the part
 * of the area around the cut that such a page may cover is unmapped from
 * each domain and mapped again in two, at the cut. An IO page maps
 * physically contiguous memory, is aligned to its size and is no larger
 * than its domain's largest page size; a virtio-iommu map request, which
 * it cannot cut either, is no larger than one iommu_map() call, which
 * iopt_area_map_pfns() keeps inside one block of that size under
 * cut_anywhere. So whatever the cut goes through lies within the run of
 * contiguous pages around the cut, inside the area and inside the block
 * of the largest size that holds the cut, and that window's own edges are
 * edges of IO pages and requests, which unmap exactly on every driver.
 * Where the largest size has no bound (AMD-Vi, QEMU's virtio-iommu), the
 * window is the whole contiguous run. Its pages stay pinned all along, but
 * DMA into the window faults between the unmap and the map: type1's own
 * VFIO_TYPE1_IOMMU would instead unmap the whole mapping. The caller holds
 * the io_pagetable's iova_rwsem for writing and the pages' mutex.
 *
 * Return: 0 (nothing to do where the pages on either side of the cut are
 * not contiguous), -EBUSY if a domain was made for dirty tracking (the
 * remapped IO pages would lose their dirty bits), -EIO if a driver
 * unmapped other than the window, or the errno of a map that failed. On
 * error every domain maps the window again, those done before in two
 * pieces, the rest whole.
 */
int iopt_area_remap_for_cut(struct io_pagetable *iopt, struct iopt_area *area,
			    unsigned long cut)
{
	struct iommu_domain **domains = iopt->domains;
	unsigned int ndomains = iopt->ndomains;
	unsigned long block = iopt_largest_pgsize(domains, ndomains);
	unsigned long cut_index = iopt_area_iova_to_index(area, cut);
	unsigned long lo, hi, first, last, wfirst, wlast;
	struct iopt_pfn_buffer buf;
	phys_addr_t phys;
	unsigned int d;
	size_t len;
	int rc = 0;

	lockdep_assert_held_write(&iopt->iova_rwsem);
	lockdep_assert_held(&area->pages->mutex);

	/*
	 * No IO page straddles a boundary of the largest size, nor, if none
	 * is larger than a CPU page, a CPU page boundary of the memory.
	 */
	if (block <= PAGE_SIZE || !(cut & (block - 1)))
		return 0;
	lo = max(iopt_area_iova(area), ALIGN_DOWN(cut, block));
	hi = min(iopt_area_last_iova(area), ALIGN_DOWN(cut, block) | (block - 1));

	/* Without memory for a chunk, the stack's few pages at a time. */
	iopt_pfn_buffer_init(&buf, iopt_area_iova_to_index(area, hi) -
					   iopt_area_iova_to_index(area, lo) + 1);
	iopt_area_contiguous_around(area, cut_index,
				    iopt_area_iova_to_index(area, lo),
				    iopt_area_iova_to_index(area, hi), &buf,
				    &first, &last);
	iopt_pfn_buffer_destroy(&buf);
	if (first == cut_index)
		return 0;
	for (d = 0; d != ndomains; d++)
		if (domains[d]->dirty_ops)
			return -EBUSY;

	wfirst = max(lo, iopt_area_index_to_iova(area, first));
	wlast = min(hi, iopt_area_index_to_last_iova(area, last));
	len = wlast - wfirst + 1;
	phys = iommu_iova_to_phys(area->storage_domain, wfirst);
	for (d = 0; d != ndomains; d++) {
		struct iommu_domain *domain = domains[d];

		/* Only a driver that broke the rules above unmaps otherwise. */
		if (WARN_ON(iommu_unmap(domain, wfirst, len) != len)) {
			rc = -EIO;
			goto err_restore;
		}
		rc = iommu_map(domain, wfirst, phys, cut - wfirst,
			       area->iommu_prot);
		if (rc)
			goto err_restore;
		rc = iommu_map(domain, cut, phys + (cut - wfirst),
			       wlast - cut + 1, area->iommu_prot);
		if (rc) {
			iommu_unmap(domain, wfirst, cut - wfirst);
			goto err_restore;
		}
	}
	return 0;

err_restore:
	/*
	 * As it was mapped before, which can still need a page table page
	 * (VT-d frees those a large unmap covers) and so fail for want of
	 * memory; the domain would then miss pages its area maps.
	 */
	WARN_ON(iommu_map(domains[d], wfirst, phys, len, area->iommu_prot));
	return rc;
}

/*
 * Accesses
 * ========
 *
 * An access pins whole pages by index. The PFNs go into pages->pinned_pfns,
 * one entry per page whatever the number of accesses pinning it, and each
 * distinct range pinned gets an iopt_pages_access in pages->access_itree,
 * shared (with a user count) by identical pins. A page leaves the xarray
 * when no access range covers it any more, and is unpinned then unless a
 * filled area still maps it.
 */

/* The access range exactly [index, last_index], if any. */
static struct iopt_pages_access *
iopt_pages_find_access(struct iopt_pages *pages, unsigned long index,
		       unsigned long last_index)
{
	struct interval_tree_node *node;

	for (node = interval_tree_iter_first(&pages->access_itree, index,
					     last_index);
	     node; node = interval_tree_iter_next(node, index, last_index))
		if (node->start == index && node->last == last_index)
			return container_of(node, struct iopt_pages_access,
					    node);
	return NULL;
}

/*
 * Drop the xarray entries of [index, last_index] that no access range in
 * access_itree covers, unpinning the pages nothing else needs.
 */
static void iopt_pages_unfill_xarray(struct iopt_pages *pages,
				     unsigned long index,
				     unsigned long last_index)
{
	unsigned long first_index = index, released = 0;
	struct iopt_unpin_run run = {};
	struct iopt_pages_span span;

	lockdep_assert_held(&pages->mutex);

	while (index <= last_index) {
		iopt_pages_span(pages, index, last_index, NULL, &span);
		if (span.user == IOPT_SPAN_ACCESS) {
			index = span.last + 1;
			continue;
		}
		for (; index <= span.last; index++) {
			void *entry = xa_erase(&pages->pinned_pfns, index);

			if (!entry || span.user != IOPT_SPAN_UNUSED)
				continue;
			iopt_unpin_run_add(pages, &run, xa_to_value(entry));
			released++;
		}
	}
	iopt_unpin_run_flush(pages, &run);
	iopt_pages_uncharge(pages, released);
	if (released)
		trace_iommufd_unpin(pages, first_index, released,
				    pages->npinned);
}

/*
 * Put the PFNs of [index, last_index] into the xarray, pinning the pages
 * nothing has pinned yet, and return their pages in @out_pages.
 */
static int iopt_pages_fill_xarray(struct iopt_pages *pages,
				  unsigned long index, unsigned long last_index,
				  struct page **out_pages)
{
	/* struct page pointers and PFNs have the same size. */
	unsigned long *pfns = (unsigned long *)out_pages;
	unsigned long n = last_index - index + 1, i;
	int rc;

	lockdep_assert_held(&pages->mutex);

	rc = iopt_pages_get_pfns(pages, index, n, pfns, NULL);
	if (rc)
		return rc;
	for (i = 0; i != n; i++) {
		if (xa_load(&pages->pinned_pfns, index + i))
			continue;
		rc = xa_err(xa_store(&pages->pinned_pfns, index + i,
				     xa_mk_value(pfns[i]), GFP_KERNEL_ACCOUNT));
		if (rc)
			goto err_release;
	}
	for (i = 0; i != n; i++)
		out_pages[i] = pfn_to_page(pfns[i]);
	return 0;

err_release:
	/* First the pins not stored yet, then the entries this call stored. */
	iopt_pages_release(pages, index + i, pfns + i, n - i, NULL);
	if (i)
		iopt_pages_unfill_xarray(pages, index, index + i - 1);
	return rc;
}

/**
 * iopt_area_add_access - pin pages of an area for an access
 * @iopt: the io_pagetable of the area; the caller holds its
 *	pin_growth_rwsem and iova_rwsem for reading
 * @area: the area
 * @index: the first page index, inside the area
 * @last_index: the last page index, inside the area
 * @out_pages: filled with the last_index - index + 1 pages
 * @flags: IOMMUFD_ACCESS_RW_WRITE to pin for writing
 *
 * Return: 0, -EPERM to write read-only memory, or another negative errno
 * with nothing changed.
 */
int iopt_area_add_access(struct io_pagetable *iopt, struct iopt_area *area,
			 unsigned long index, unsigned long last_index,
			 struct page **out_pages, unsigned int flags)
{
	struct iopt_pages *pages = area->pages;
	struct iopt_pages_access *access;
	unsigned long i;
	int rc = 0;

	lockdep_assert_held(iopt->pin_growth_rwsem);
	lockdep_assert_held(&iopt->iova_rwsem);

	if ((flags & IOMMUFD_ACCESS_RW_WRITE) && !pages->writable)
		return -EPERM;

	mutex_lock(&pages->mutex);
	access = iopt_pages_find_access(pages, index, last_index);
	if (access) {
		/* The same range again: its pages are all in the xarray. */
		for (i = 0; i != last_index - index + 1; i++) {
			void *entry = xa_load(&pages->pinned_pfns, index + i);

			out_pages[i] = pfn_to_page(xa_to_value(entry));
		}
		access->users++;
		area->num_accesses++;
		goto out_unlock;
	}

	access = kzalloc(sizeof(*access), GFP_KERNEL_ACCOUNT);
	if (!access) {
		rc = -ENOMEM;
		goto out_unlock;
	}
	rc = iopt_pages_fill_xarray(pages, index, last_index, out_pages);
	if (rc) {
		kfree(access);
		goto out_unlock;
	}
	access->node.start = index;
	access->node.last = last_index;
	access->users = 1;
	interval_tree_insert(&access->node, &pages->access_itree);
	area->num_accesses++;
out_unlock:
	mutex_unlock(&pages->mutex);
	return rc;
}

/**
 * iopt_area_remove_access - undo one iopt_area_add_access()
 * @area: the area; the caller holds its io_pagetable's iova_rwsem
 * @index: the first page index given to iopt_area_add_access()
 * @last_index: the last page index given to iopt_area_add_access()
 */
void iopt_area_remove_access(struct iopt_area *area, unsigned long index,
			     unsigned long last_index)
{
	struct iopt_pages *pages = area->pages;
	struct iopt_pages_access *access;

	mutex_lock(&pages->mutex);
	access = iopt_pages_find_access(pages, index, last_index);
	if (WARN_ON(!access) || WARN_ON(!area->num_accesses))
		goto out_unlock;
	area->num_accesses--;
	if (--access->users)
		goto out_unlock;
	interval_tree_remove(&access->node, &pages->access_itree);
	kfree(access);
	iopt_pages_unfill_xarray(pages, index, last_index);
out_unlock:
	mutex_unlock(&pages->mutex);
}

/* Copy through the user mapping; current must be in the pages' mm. */
static int iopt_pages_rw_user(struct iopt_pages *pages,
			      unsigned long start_byte, void *data,
			      unsigned long length, unsigned int flags)
{
	void __user *uptr = pages->uptr + start_byte;

	if (flags & IOMMUFD_ACCESS_RW_WRITE)
		return copy_to_user(uptr, data, length) ? -EFAULT : 0;
	return copy_from_user(data, uptr, length) ? -EFAULT : 0;
}

/*
 * Copy through the pages themselves, pinning for the duration of the copy
 * what is not pinned already: works from any process, and even once the
 * memory's mm is gone for pages a domain or an access holds.
 */
static int iopt_pages_rw_pinned(struct iopt_pages *pages,
				unsigned long start_byte, void *data,
				unsigned long length, unsigned int flags)
{
	unsigned long index = start_byte / PAGE_SIZE;
	unsigned long offset = start_byte % PAGE_SIZE;
	struct iopt_pfn_buffer buf;
	int rc;

	rc = iopt_pfn_buffer_init(&buf,
				  DIV_ROUND_UP(offset + length, PAGE_SIZE));
	if (rc)
		return rc;

	mutex_lock(&pages->mutex);
	while (length) {
		unsigned long n = min(buf.len, DIV_ROUND_UP(offset + length,
							    PAGE_SIZE));
		unsigned long i;

		rc = iopt_pages_get_pfns(pages, index, n, buf.pfns, NULL);
		if (rc)
			break;
		for (i = 0; i != n; i++) {
			size_t bytes = min(PAGE_SIZE - offset, length);
			void *va = kmap_local_pfn(buf.pfns[i]);

			if (flags & IOMMUFD_ACCESS_RW_WRITE)
				memcpy(va + offset, data, bytes);
			else
				memcpy(data, va + offset, bytes);
			kunmap_local(va);
			data += bytes;
			length -= bytes;
			offset = 0;
		}
		iopt_pages_release(pages, index, buf.pfns, n, NULL);
		index += n;
	}
	mutex_unlock(&pages->mutex);
	iopt_pfn_buffer_destroy(&buf);
	return rc;
}

/**
 * iopt_pages_rw - copy between a kernel buffer and user memory
 * @pages: the memory
 * @start_byte: where to start, from the start of @pages
 * @data: the kernel buffer
 * @length: how many bytes
 * @flags: IOMMUFD_ACCESS_RW_*
 *
 * Return: 0, -EPERM to write read-only memory, -EFAULT, or -ENOMEM.
 */
int iopt_pages_rw(struct iopt_pages *pages, unsigned long start_byte,
		  void *data, unsigned long length, unsigned int flags)
{
	bool slow = IS_ENABLED(CONFIG_IOMMUFD_TEST) &&
		    (flags & __IOMMUFD_ACCESS_RW_SLOW_PATH);
	int rc;

	if ((flags & IOMMUFD_ACCESS_RW_WRITE) && !pages->writable)
		return -EPERM;
	if (slow)
		return iopt_pages_rw_pinned(pages, start_byte, data, length,
					    flags);

	/* A file's pages are reached through no user mapping. */
	if (pages->source == IOPT_PAGES_FILE)
		return iopt_pages_rw_pinned(pages, start_byte, data, length,
					    flags);

	if (current->mm == pages->source_mm)
		return iopt_pages_rw_user(pages, start_byte, data, length,
					  flags);

	/* A kthread may borrow the mm, if it still has users. */
	if ((flags & IOMMUFD_ACCESS_RW_KTHREAD) &&
	    (current->flags & PF_KTHREAD) && !current->mm &&
	    mmget_not_zero(pages->source_mm)) {
		kthread_use_mm(pages->source_mm);
		rc = iopt_pages_rw_user(pages, start_byte, data, length, flags);
		kthread_unuse_mm(pages->source_mm);
		mmput(pages->source_mm);
		return rc;
	}
	return iopt_pages_rw_pinned(pages, start_byte, data, length, flags);
}
