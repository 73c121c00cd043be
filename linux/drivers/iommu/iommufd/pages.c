// SPDX-License-Identifier: GPL-2.0-only
/*
 * iopt_pages: a range of user memory that IOAS areas map.
 *
 * The object records whose memory it is (the mm, the task whose
 * RLIMIT_MEMLOCK applies and the user to charge) so that pages can be
 * pinned and accounted later, from any context, when a domain or an access
 * first needs them. See io_pagetable.h for when pages are pinned.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/overflow.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>

#include "io_pagetable.h"

/**
 * iopt_alloc_pages - describe a range of the current process's memory
 * @uptr: the start of the range
 * @length: its length in bytes
 * @writable: whether devices may write to it
 *
 * Nothing is pinned yet.
 *
 * Return: the new iopt_pages with one reference, or an ERR_PTR: -EINVAL for
 * a length of 0, -EOVERFLOW if the range wraps, -ENOMEM.
 */
struct iopt_pages *iopt_alloc_pages(void __user *uptr, unsigned long length,
				    bool writable)
{
	unsigned long start = (unsigned long)uptr, end;
	struct iopt_pages *pages;

	if (!length)
		return ERR_PTR(-EINVAL);
	if (check_add_overflow(start, length, &end) ||
	    end > ULONG_MAX - PAGE_SIZE)
		return ERR_PTR(-EOVERFLOW);

	pages = kzalloc(sizeof(*pages), GFP_KERNEL_ACCOUNT);
	if (!pages)
		return ERR_PTR(-ENOMEM);

	kref_init(&pages->kref);
	mutex_init(&pages->mutex);
	xa_init_flags(&pages->pinned_pfns, XA_FLAGS_ACCOUNT);
	pages->access_itree = RB_ROOT_CACHED;
	pages->domains_itree = RB_ROOT_CACHED;
	pages->uptr = (void __user *)(start & PAGE_MASK);
	pages->npages = DIV_ROUND_UP(end, PAGE_SIZE) - start / PAGE_SIZE;
	pages->writable = writable;

	pages->source_mm = current->mm;
	mmgrab(pages->source_mm);
	pages->source_task = current->group_leader;
	get_task_struct(pages->source_task);
	pages->source_user = get_uid(current_user());
	pages->account_mode = capable(CAP_IPC_LOCK) ? IOPT_PAGES_ACCOUNT_NONE :
						      IOPT_PAGES_ACCOUNT_USER;
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
	mmdrop(pages->source_mm);
	mutex_destroy(&pages->mutex);
	put_task_struct(pages->source_task);
	free_uid(pages->source_user);
	kfree(pages);
}
