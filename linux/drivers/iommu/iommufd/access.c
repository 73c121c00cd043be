// SPDX-License-Identifier: GPL-2.0-only
/*
 * The ACCESS object: a kernel driver's window into an IOAS, for devices
 * that have no IOMMU domain (emulated devices, the selftest).
 *
 * The driver owns the object: it holds a reference from
 * iommufd_access_create() to iommufd_access_destroy(), so userspace cannot
 * destroy it, and the access keeps the context's file open. Pins are
 * tracked by the pages themselves (see pages.c); the access only knows its
 * IOAS. Unmaps reach the driver through iommufd_access_notify_unmap(),
 * which holds a short-term reference on each access while calling it, so
 * iommufd_access_destroy() waits for running callbacks.
 */
#include <linux/file.h>
#include <linux/iommufd.h>
#include <linux/slab.h>

#include "io_pagetable.h"
#include "iommufd_private.h"

void iommufd_access_destroy_object(struct iommufd_object *obj)
{
	struct iommufd_access *access =
		container_of(obj, struct iommufd_access, obj);

	WARN_ON(access->ioas_unpin);
	mutex_destroy(&access->ioas_lock);
}

/**
 * iommufd_access_create - create an access for a driver
 * @ictx: the context
 * @ops: the driver's callbacks; @ops->unmap is required to pin pages
 * @data: the argument of the callbacks
 * @id: set to the ID of the new access object
 *
 * The access is attached to nothing; see iommufd_access_attach().
 *
 * Return: the access, to be released with iommufd_access_destroy(), or an
 * ERR_PTR.
 */
struct iommufd_access *
iommufd_access_create(struct iommufd_ctx *ictx,
		      const struct iommufd_access_ops *ops, void *data, u32 *id)
{
	struct iommufd_access *access;

	access = iommufd_object_alloc(ictx, access, IOMMUFD_OBJ_ACCESS);
	if (IS_ERR(access))
		return access;

	access->ictx = ictx;
	access->ops = ops;
	access->data = data;
	access->iova_alignment = ops->needs_pin_pages ? PAGE_SIZE : 1;
	mutex_init(&access->ioas_lock);
	/* The driver's reference, dropped by iommufd_access_destroy(). */
	refcount_inc(&access->obj.users);
	get_file(ictx->file);
	iommufd_object_finalize(ictx, &access->obj);
	*id = access->obj.id;
	return access;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_create, IOMMUFD);

/*
 * Ask the driver to unpin whatever it pinned through @iopt. Only the ranges
 * that accesses pin are named, one call for each run of them: a driver may
 * walk the range it is given page by page (6.1's kvmgt does), and over the
 * whole IOVA space that walk would not end. With nothing pinned, the
 * driver hears nothing, as with type1, which calls dma_unmap() only for an
 * unmap.
 */
static void iommufd_access_unmap_pinned(struct iommufd_access *access,
					struct io_pagetable *iopt)
{
	unsigned long iova = 0, first, last;

	while (iopt_next_pinned_span(iopt, iova, &first, &last)) {
		/* All 2^64 bytes have no length: the last one apart. */
		if (!first && last == ULONG_MAX) {
			access->ops->unmap(access->data, 0, ULONG_MAX);
			access->ops->unmap(access->data, ULONG_MAX, 1);
			return;
		}
		access->ops->unmap(access->data, first, last - first + 1);
		if (last == ULONG_MAX)
			return;
		iova = last + 1;
	}
}

/*
 * Move the access to @new_ioas (NULL: detach). The driver is first told to
 * unpin everything it pinned through the old IOAS; meanwhile access->ioas is
 * NULL so no new pin starts, and unpins still reach the old IOAS.
 */
static int iommufd_access_change_ioas(struct iommufd_access *access,
				      struct iommufd_ioas *new_ioas)
{
	struct iommufd_ioas *old_ioas = access->ioas;
	u32 old_id = access->access_list_id;
	int rc;

	lockdep_assert_held(&access->ioas_lock);

	/* Another change is between its two halves. */
	if (old_ioas != access->ioas_unpin)
		return -EBUSY;
	if (old_ioas == new_ioas)
		return 0;

	access->ioas = NULL;
	if (new_ioas) {
		rc = iopt_add_access(&new_ioas->iopt, access);
		if (rc) {
			access->ioas = old_ioas;
			return rc;
		}
		refcount_inc(&new_ioas->obj.users);
	}

	if (old_ioas) {
		if (access->ops->unmap) {
			mutex_unlock(&access->ioas_lock);
			iommufd_access_unmap_pinned(access, &old_ioas->iopt);
			mutex_lock(&access->ioas_lock);
		}
		iopt_remove_access(&old_ioas->iopt, access, old_id);
		refcount_dec(&old_ioas->obj.users);
	}
	access->ioas = new_ioas;
	access->ioas_unpin = new_ioas;
	return 0;
}

static int iommufd_access_set_ioas(struct iommufd_access *access, u32 ioas_id,
				   bool replace)
{
	struct iommufd_ioas *ioas;
	int rc;

	ioas = iommufd_get_ioas(access->ictx, ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	mutex_lock(&access->ioas_lock);
	if (replace && !access->ioas)
		rc = -ENOENT;
	else if (!replace && access->ioas_unpin)
		rc = -EINVAL;
	else
		rc = iommufd_access_change_ioas(access, ioas);
	mutex_unlock(&access->ioas_lock);
	iommufd_put_object(access->ictx, &ioas->obj);
	return rc;
}

/**
 * iommufd_access_attach - attach a detached access to an IOAS
 * @access: the access
 * @ioas_id: the IOAS
 *
 * Return: 0, -EINVAL if already attached, -ENOENT if @ioas_id is no IOAS,
 * -EADDRINUSE if an existing mapping is not CPU page aligned while the
 * access pins pages.
 */
int iommufd_access_attach(struct iommufd_access *access, u32 ioas_id)
{
	return iommufd_access_set_ioas(access, ioas_id, false);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_attach, IOMMUFD);

/**
 * iommufd_access_replace - move an attached access to another IOAS
 * @access: the access
 * @ioas_id: the new IOAS
 *
 * The driver's unmap callback is asked to unpin everything first.
 *
 * Return: 0, -ENOENT if not attached or @ioas_id is no IOAS, or an errno
 * of iommufd_access_attach(); on error the access stays where it was.
 */
int iommufd_access_replace(struct iommufd_access *access, u32 ioas_id)
{
	return iommufd_access_set_ioas(access, ioas_id, true);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_replace, IOMMUFD);

/**
 * iommufd_access_detach - detach an access from its IOAS
 * @access: the access
 *
 * The driver's unmap callback is asked to unpin everything first.
 */
void iommufd_access_detach(struct iommufd_access *access)
{
	mutex_lock(&access->ioas_lock);
	WARN_ON(iommufd_access_change_ioas(access, NULL));
	mutex_unlock(&access->ioas_lock);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_detach, IOMMUFD);

/**
 * iommufd_access_destroy - detach and destroy an access
 * @access: the access
 *
 * Waits for unmap callbacks still running on other CPUs.
 */
void iommufd_access_destroy(struct iommufd_access *access)
{
	struct iommufd_ctx *ictx = access->ictx;

	iommufd_access_detach(access);
	iommufd_object_destroy_owned(ictx, &access->obj);
	fput(ictx->file);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_destroy, IOMMUFD);

/**
 * iommufd_access_notify_unmap - ask the accesses of an IOAS to unpin a range
 * @iopt: the IOAS's io_pagetable, whose locks the caller does not hold
 * @iova: the start of the range
 * @length: its length
 */
void iommufd_access_notify_unmap(struct io_pagetable *iopt, unsigned long iova,
				 unsigned long length)
{
	struct iommufd_access *access;
	unsigned long index;

	xa_lock(&iopt->access_list);
	xa_for_each(&iopt->access_list, index, access) {
		if (!access->ops->unmap ||
		    !refcount_inc_not_zero(&access->obj.users))
			continue;
		xa_unlock(&iopt->access_list);
		access->ops->unmap(access->data, iova, length);
		iommufd_put_object(access->ictx, &access->obj);
		xa_lock(&iopt->access_list);
	}
	xa_unlock(&iopt->access_list);
}

/*
 * Check a range and lock the access's IOAS for a walk over it. Returns the
 * io_pagetable, with access->ioas_lock and its iova_rwsem held (and its
 * pin_growth_rwsem if @pin), or an ERR_PTR with nothing held.
 */
static struct io_pagetable *
iommufd_access_lock_iopt(struct iommufd_access *access, unsigned long iova,
			 unsigned long length, unsigned long *last_iova,
			 bool pin)
{
	struct io_pagetable *iopt;

	if (!length)
		return ERR_PTR(-EINVAL);
	if (check_add_overflow(iova, length - 1, last_iova))
		return ERR_PTR(-EOVERFLOW);

	mutex_lock(&access->ioas_lock);
	if (!access->ioas) {
		mutex_unlock(&access->ioas_lock);
		return ERR_PTR(-ENOENT);
	}
	iopt = &access->ioas->iopt;
	if (pin)
		iopt_pin_growth_begin(iopt);
	down_read(&iopt->iova_rwsem);
	return iopt;
}

static void iommufd_access_unlock_iopt(struct iommufd_access *access,
				       struct io_pagetable *iopt, bool pin)
{
	up_read(&iopt->iova_rwsem);
	if (pin)
		iopt_pin_growth_end(iopt);
	mutex_unlock(&access->ioas_lock);
}

/* The area's protection allows a read, or a write with RW_WRITE. */
static bool iommufd_access_prot_ok(struct iopt_area *area, unsigned int flags)
{
	if (flags & IOMMUFD_ACCESS_RW_WRITE)
		return area->iommu_prot & IOMMU_WRITE;
	return area->iommu_prot & IOMMU_READ;
}

/*
 * A piece of a pin must be made of whole pages of its area where it meets
 * another piece, so each IOVA page has one page behind it.
 */
static bool iommufd_access_piece_aligned(struct iopt_area_walk *walk)
{
	struct iopt_area *area = walk->area;
	unsigned long last = iopt_area_walk_piece_last(walk);

	if (iopt_area_start_byte(area, walk->cur_iova) % PAGE_SIZE)
		return false;
	return last == walk->last_iova ||
	       (iopt_area_start_byte(area, last) + 1) % PAGE_SIZE == 0;
}

/*
 * Undo the pins of the pieces of [iova, last] up to area @end (NULL: all).
 * Returns whether the pieces covered the whole range.
 */
static bool iommufd_access_unpin_walk(struct io_pagetable *iopt,
				      unsigned long iova, unsigned long last,
				      struct iopt_area *end)
{
	struct iopt_area_walk walk;
	struct iopt_area *area;

	for (area = iopt_area_walk_first(&walk, iopt, iova, last); area;
	     area = iopt_area_walk_next(&walk)) {
		if (area == end)
			break;
		unsigned long last_piece = iopt_area_walk_piece_last(&walk);

		iopt_area_remove_access(area,
					iopt_area_iova_to_index(area,
								walk.cur_iova),
					iopt_area_iova_to_index(area,
								last_piece));
	}
	return walk.done;
}

/**
 * iommufd_access_pin_pages - pin the pages behind a range of IOVA
 * @access: the access, created with @ops->needs_pin_pages
 * @iova: the start of the range, CPU page aligned in its mapping
 * @length: its length
 * @out_pages: filled with one page per CPU page the range touches
 * @flags: IOMMUFD_ACCESS_RW_WRITE to pin for writing
 *
 * The pages stay pinned until iommufd_access_unpin_pages() with the same
 * range; the access's unmap callback must call it when asked.
 *
 * Return: 0, -EINVAL for a bad range or a mapping being unmapped, -ENOENT if
 * part of the range is not mapped or the access is detached, -EPERM for a
 * write to a read-only mapping, -EOVERFLOW, -ENOMEM, -EFAULT; on error
 * nothing is pinned.
 */
int iommufd_access_pin_pages(struct iommufd_access *access, unsigned long iova,
			     unsigned long length, struct page **out_pages,
			     unsigned int flags)
{
	struct iopt_area_walk walk;
	struct io_pagetable *iopt;
	struct iopt_area *area;
	unsigned long last_iova;
	int rc = 0;

	if (WARN_ON_ONCE(!access->ops->needs_pin_pages || !access->ops->unmap))
		return -EINVAL;
	iopt = iommufd_access_lock_iopt(access, iova, length, &last_iova, true);
	if (IS_ERR(iopt))
		return PTR_ERR(iopt);

	for (area = iopt_area_walk_first(&walk, iopt, iova, last_iova); area;
	     area = iopt_area_walk_next(&walk)) {
		unsigned long last_piece = iopt_area_walk_piece_last(&walk);
		unsigned long index = iopt_area_iova_to_index(area,
							      walk.cur_iova);
		unsigned long last_index = iopt_area_iova_to_index(area,
								   last_piece);

		if (area->prevent_access ||
		    !iommufd_access_piece_aligned(&walk))
			rc = -EINVAL;
		else if (!iommufd_access_prot_ok(area, flags))
			rc = -EPERM;
		else
			rc = iopt_area_add_access(iopt, area, index,
						  last_index, out_pages,
						  flags);
		if (rc)
			goto err_unpin;
		out_pages += last_index - index + 1;
	}
	if (!walk.done) {
		rc = -ENOENT;
		goto err_unpin;
	}
	iommufd_access_unlock_iopt(access, iopt, true);
	return 0;

err_unpin:
	iommufd_access_unpin_walk(iopt, iova, last_iova, area);
	iommufd_access_unlock_iopt(access, iopt, true);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_pin_pages, IOMMUFD);

/**
 * iommufd_access_unpin_pages - undo iommufd_access_pin_pages()
 * @access: the access
 * @iova: the @iova given to iommufd_access_pin_pages()
 * @length: the @length given to iommufd_access_pin_pages()
 */
void iommufd_access_unpin_pages(struct iommufd_access *access,
				unsigned long iova, unsigned long length)
{
	struct io_pagetable *iopt;
	unsigned long last_iova;

	if (WARN_ON(!length) ||
	    WARN_ON(check_add_overflow(iova, length - 1, &last_iova)))
		return;

	mutex_lock(&access->ioas_lock);
	if (WARN_ON(!access->ioas_unpin))
		goto out_unlock;
	iopt = &access->ioas_unpin->iopt;

	down_read(&iopt->iova_rwsem);
	WARN_ON(!iommufd_access_unpin_walk(iopt, iova, last_iova, NULL));
	up_read(&iopt->iova_rwsem);
out_unlock:
	mutex_unlock(&access->ioas_lock);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_unpin_pages, IOMMUFD);

/**
 * iommufd_access_rw - copy between a kernel buffer and a range of IOVA
 * @access: the access
 * @iova: the start of the range, any alignment
 * @data: the kernel buffer
 * @length: the length of the range
 * @flags: IOMMUFD_ACCESS_RW_WRITE to write to the IOVA, else read;
 *	IOMMUFD_ACCESS_RW_KTHREAD if the caller is a kthread
 *
 * Return: 0, -EINVAL for a bad range or a mapping being unmapped, -ENOENT if
 * part of the range is not mapped or the access is detached, -EPERM for a
 * write to a read-only mapping, -EOVERFLOW, -EFAULT or -ENOMEM. A failed
 * write may have written the part of the range before the failure.
 */
int iommufd_access_rw(struct iommufd_access *access, unsigned long iova,
		      void *data, size_t length, unsigned int flags)
{
	struct iopt_area_walk walk;
	struct io_pagetable *iopt;
	struct iopt_area *area;
	unsigned long last_iova;
	int rc = 0;

	/* A copy pins what it needs only under the pages' mutex: no growth. */
	iopt = iommufd_access_lock_iopt(access, iova, length, &last_iova,
					false);
	if (IS_ERR(iopt))
		return PTR_ERR(iopt);

	for (area = iopt_area_walk_first(&walk, iopt, iova, last_iova); area;
	     area = iopt_area_walk_next(&walk)) {
		unsigned long bytes =
			iopt_area_walk_piece_last(&walk) - walk.cur_iova + 1;

		if (area->prevent_access)
			rc = -EINVAL;
		else if (!iommufd_access_prot_ok(area, flags))
			rc = -EPERM;
		else
			rc = iopt_pages_rw(area->pages,
					   iopt_area_start_byte(area,
								walk.cur_iova),
					   data, bytes, flags);
		if (rc)
			break;
		data += bytes;
	}
	if (!rc && !walk.done)
		rc = -ENOENT;
	iommufd_access_unlock_iopt(access, iopt, false);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_rw, IOMMUFD);
