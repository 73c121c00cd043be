// SPDX-License-Identifier: GPL-2.0-only
/*
 * The IOAS object: an IO address space, the user-visible face of an
 * io_pagetable.
 */
#include <linux/file.h>
#include <linux/interval_tree.h>
#include <linux/iommu.h>
#include <linux/slab.h>
#include <uapi/linux/iommufd.h>

#include "io_pagetable.h"
#include "iommufd_private.h"
#include "iommufd_trace.h"

void iommufd_ioas_destroy(struct iommufd_object *obj)
{
	struct iommufd_ioas *ioas = container_of(obj, struct iommufd_ioas, obj);
	int rc;

	rc = iopt_unmap_all(&ioas->iopt, NULL);
	WARN_ON(rc);
	iopt_destroy_table(&ioas->iopt);
	mutex_destroy(&ioas->mutex);
	atomic_dec(&ioas->ictx->nr_ioas);
}

/**
 * iommufd_ioas_alloc - create an empty IOAS, not yet visible to userspace
 * @ictx: the context
 *
 * Return: the IOAS, to be finalized or aborted by the caller, or an ERR_PTR.
 */
struct iommufd_ioas *iommufd_ioas_alloc(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas;

	ioas = iommufd_object_alloc(ictx, ioas, IOMMUFD_OBJ_IOAS);
	if (IS_ERR(ioas))
		return ioas;
	atomic_inc(&ictx->nr_ioas);
	ioas->ictx = ictx;
	iopt_init_table(&ioas->iopt, &ictx->pin_growth_rwsem);
	mutex_init(&ioas->mutex);
	INIT_LIST_HEAD(&ioas->hwpt_list);
	return ioas;
}

int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_alloc *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	int rc;

	if (cmd->flags)
		return -EOPNOTSUPP;

	ioas = iommufd_ioas_alloc(ucmd->ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	cmd->out_ioas_id = ioas->obj.id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto out_destroy;
	iommufd_object_finalize(ucmd->ictx, &ioas->obj);
	return 0;

out_destroy:
	iommufd_object_abort_and_destroy(ucmd->ictx, &ioas->obj);
	return rc;
}

int iommufd_ioas_iova_ranges(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_iova_ranges *cmd = ucmd->cmd;
	struct iommu_iova_range __user *ranges;
	struct interval_tree_node *reserved;
	struct iommufd_ioas *ioas;
	unsigned long next = 0;
	bool done = false;
	u32 room;
	int rc = 0;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	room = cmd->num_iovas;
	ranges = u64_to_user_ptr(cmd->allowed_iovas);
	cmd->num_iovas = 0;

	down_read(&ioas->iopt.iova_rwsem);
	cmd->out_iova_alignment = ioas->iopt.iova_alignment;
	/* Report the gaps between reserved ranges, sorted by their start. */
	reserved = interval_tree_iter_first(&ioas->iopt.reserved_itree, 0,
					    ULONG_MAX);
	while (!done) {
		struct iommu_iova_range range = { .start = next };

		if (reserved && reserved->start <= next) {
			/* Overlapping or adjacent reserved ranges merge. */
			if (reserved->last >= next) {
				if (reserved->last == ULONG_MAX)
					break;
				next = reserved->last + 1;
			}
			reserved = interval_tree_iter_next(reserved, 0,
							   ULONG_MAX);
			continue;
		}
		if (reserved) {
			range.last = reserved->start - 1;
		} else {
			range.last = ULONG_MAX;
			done = true;
		}
		if (cmd->num_iovas < room &&
		    copy_to_user(&ranges[cmd->num_iovas], &range,
				 sizeof(range))) {
			rc = -EFAULT;
			goto out_unlock;
		}
		cmd->num_iovas++;
		next = range.last + 1;
	}

	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (!rc && cmd->num_iovas > room)
		rc = -EMSGSIZE;
out_unlock:
	up_read(&ioas->iopt.iova_rwsem);
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/* Read userspace's ranges into a new tree; the caller frees its nodes. */
static int iommufd_ioas_load_ranges(struct rb_root_cached *itree,
				    struct iommu_iova_range __user *ranges,
				    u32 num)
{
	u32 i;

	for (i = 0; i != num; i++) {
		struct iommu_iova_range range;
		struct iopt_allowed *allowed;

		if (copy_from_user(&range, ranges + i, sizeof(range)))
			return -EFAULT;
		if (range.start >= range.last || range.last > ULONG_MAX)
			return -EINVAL;
		if (interval_tree_iter_first(itree, range.start, range.last))
			return -EINVAL;

		allowed = kzalloc(sizeof(*allowed), GFP_KERNEL_ACCOUNT);
		if (!allowed)
			return -ENOMEM;
		allowed->node.start = range.start;
		allowed->node.last = range.last;
		interval_tree_insert(&allowed->node, itree);
	}
	return 0;
}

int iommufd_ioas_allow_iovas(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_allow_iovas *cmd = ucmd->cmd;
	struct rb_root_cached allowed = RB_ROOT_CACHED;
	struct interval_tree_node *node;
	struct iommufd_ioas *ioas;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	/*
	 * Build the whole new list first and swap it in at once, so that a
	 * failure leaves the old list in place.
	 */
	rc = iommufd_ioas_load_ranges(&allowed,
				      u64_to_user_ptr(cmd->allowed_iovas),
				      cmd->num_iovas);
	if (!rc)
		rc = iopt_set_allow_iova(&ioas->iopt, &allowed);

	while ((node = interval_tree_iter_first(&allowed, 0, ULONG_MAX))) {
		interval_tree_remove(node, &allowed);
		kfree(container_of(node, struct iopt_allowed, node));
	}
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

#define IOMMUFD_IOAS_MAP_FLAGS                                                 \
	(IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE |                \
	 IOMMU_IOAS_MAP_READABLE)

static int iommufd_ioas_map_prot(u32 flags)
{
	/*
	 * Userspace has no way to flush CPU caches for DMA, so only
	 * cache-coherent mappings are made.
	 */
	int prot = IOMMU_CACHE;

	if (flags & IOMMU_IOAS_MAP_WRITEABLE)
		prot |= IOMMU_WRITE;
	if (flags & IOMMU_IOAS_MAP_READABLE)
		prot |= IOMMU_READ;
	return prot;
}

/* What IOMMU_IOAS_MAP and IOMMU_IOAS_MAP_FILE check alike, in this order. */
static int iommufd_ioas_map_check(u32 flags, u64 iova, u64 length)
{
	if (flags & ~IOMMUFD_IOAS_MAP_FLAGS)
		return -EOPNOTSUPP;
	if (iova >= ULONG_MAX || length >= ULONG_MAX)
		return -EOVERFLOW;
	if (!(flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)))
		return -EINVAL;
	return 0;
}

/*
 * After a map: tell userspace the IOVA the kernel chose. A fixed IOVA is
 * what userspace gave: nothing to tell. If the answer cannot be written,
 * the mapping stays, as upstream's does: the IOVA lock was dropped once
 * the mapping was made, so another thread may already have unmapped it
 * and mapped something else there, which taking it back would remove.
 */
static int iommufd_ioas_map_respond(struct iommufd_ucmd *ucmd, u32 flags,
				    u64 *cmd_iova, unsigned long iova,
				    size_t cmd_len)
{
	if (flags & IOMMU_IOAS_MAP_FIXED_IOVA)
		return 0;
	*cmd_iova = iova;
	return iommufd_ucmd_respond(ucmd, cmd_len);
}

int iommufd_ioas_map(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_map *cmd = ucmd->cmd;
	unsigned long iova = cmd->iova;
	struct iommufd_ioas *ioas;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	rc = iommufd_ioas_map_check(cmd->flags, cmd->iova, cmd->length);
	if (rc)
		return rc;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	rc = iopt_map_user_pages(ucmd->ictx, &ioas->iopt, &iova,
				 u64_to_user_ptr(cmd->user_va), cmd->length,
				 iommufd_ioas_map_prot(cmd->flags),
				 !(cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA));
	if (!rc)
		rc = iommufd_ioas_map_respond(ucmd, cmd->flags, &cmd->iova,
					      iova, sizeof(*cmd));
	if (!rc)
		trace_iommufd_map(ioas->obj.id, iova, cmd->length,
				  iommufd_ioas_map_prot(cmd->flags),
				  IOMMUFD_TRACE_MAP_USER);
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

int iommufd_ioas_map_file(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_map_file *cmd = ucmd->cmd;
	unsigned long iova = cmd->iova;
	struct iommufd_ioas *ioas;
	struct file *file;
	int rc;

	rc = iommufd_ioas_map_check(cmd->flags, cmd->iova, cmd->length);
	if (rc)
		return rc;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	file = fget(cmd->fd);
	if (!file) {
		rc = -EBADF;
		goto out_put;
	}
	rc = iopt_map_file_pages(ucmd->ictx, &ioas->iopt, &iova, file,
				 cmd->start, cmd->length,
				 iommufd_ioas_map_prot(cmd->flags),
				 !(cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA));
	fput(file);
	if (!rc)
		rc = iommufd_ioas_map_respond(ucmd, cmd->flags, &cmd->iova,
					      iova, sizeof(*cmd));
	if (!rc)
		trace_iommufd_map(ioas->obj.id, iova, cmd->length,
				  iommufd_ioas_map_prot(cmd->flags),
				  IOMMUFD_TRACE_MAP_FILE);
out_put:
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

int iommufd_ioas_copy(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_copy *cmd = ucmd->cmd;
	struct iommufd_ioas *src_ioas, *dst_ioas;
	unsigned long iova = cmd->dst_iova;
	u64 last;
	int rc;

	if (cmd->flags & ~IOMMUFD_IOAS_MAP_FLAGS)
		return -EOPNOTSUPP;
	if (cmd->length >= ULONG_MAX || cmd->src_iova >= ULONG_MAX ||
	    cmd->dst_iova >= ULONG_MAX)
		return -EOVERFLOW;
	if (!(cmd->flags &
	      (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)))
		return -EINVAL;

	src_ioas = iommufd_get_ioas(ucmd->ictx, cmd->src_ioas_id);
	if (IS_ERR(src_ioas))
		return PTR_ERR(src_ioas);
	/*
	 * The source range is judged before the target is looked up, as
	 * upstream orders it; iopt_copy_iova() relies on these checks.
	 */
	if (!cmd->length) {
		rc = -EINVAL;
		goto out_put_src;
	}
	if (check_add_overflow(cmd->src_iova, cmd->length - 1, &last)) {
		rc = -EOVERFLOW;
		goto out_put_src;
	}
	dst_ioas = iommufd_get_ioas(ucmd->ictx, cmd->dst_ioas_id);
	if (IS_ERR(dst_ioas)) {
		rc = PTR_ERR(dst_ioas);
		goto out_put_src;
	}

	rc = iopt_copy_iova(&dst_ioas->iopt, &src_ioas->iopt, cmd->src_iova,
			    cmd->length, &iova,
			    iommufd_ioas_map_prot(cmd->flags),
			    !(cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA));
	if (rc)
		goto out_put_dst;

	/* An answer that cannot be written leaves the copy: see above. */
	cmd->dst_iova = iova;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (!rc)
		trace_iommufd_map(dst_ioas->obj.id, iova, cmd->length,
				  iommufd_ioas_map_prot(cmd->flags),
				  IOMMUFD_TRACE_MAP_COPY);
out_put_dst:
	iommufd_put_object(ucmd->ictx, &dst_ioas->obj);
out_put_src:
	iommufd_put_object(ucmd->ictx, &src_ioas->obj);
	return rc;
}

int iommufd_ioas_unmap(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_unmap *cmd = ucmd->cmd;
	unsigned long unmapped = 0;
	struct iommufd_ioas *ioas;
	int rc;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	if (cmd->iova == 0 && cmd->length == U64_MAX) {
		rc = iopt_unmap_all(&ioas->iopt, &unmapped);
	} else if (cmd->iova >= ULONG_MAX || cmd->length >= ULONG_MAX) {
		rc = -EOVERFLOW;
	} else {
		rc = iopt_unmap_iova(&ioas->iopt, cmd->iova, cmd->length,
				     &unmapped);
		if (!rc && !unmapped)
			rc = -ENOENT;
	}
	if (rc)
		goto out_put;
	trace_iommufd_unmap(ioas->obj.id, cmd->iova, cmd->length, unmapped);

	/* Unmapping exactly what was asked leaves the answer as it was. */
	if (cmd->length != unmapped) {
		cmd->length = unmapped;
		rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
out_put:
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/* IOMMU_OPTION_HUGE_PAGES of an IOAS; iommufd_option() checked the rest. */
int iommufd_ioas_option(struct iommufd_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	int rc = 0;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->object_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	if (cmd->op == IOMMU_OPTION_OP_GET) {
		cmd->val64 = !ioas->iopt.disable_large_pages;
		rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	} else if (cmd->op == IOMMU_OPTION_OP_SET) {
		if (cmd->val64 > 1)
			rc = -EINVAL;
		else
			rc = iopt_set_large_pages(&ioas->iopt, cmd->val64);
	} else {
		rc = -EOPNOTSUPP;
	}
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/*
 * IOMMU_IOAS_CHANGE_PROCESS: with pin_growth_rwsem held for writing, so
 * that no mapping appears and nothing pins more anywhere in the context,
 * list the memory of every mapping of every IOAS (all of it must come from
 * files), charge it to the caller all or nothing, then move each
 * iopt_pages's charges and owner over. The IOASes are visited one at a
 * time, under their own iova_rwsem only: a context may hold any number,
 * and lockdep would not follow thousands of locks held at once. What goes
 * away meanwhile (an unmap, an IOAS destroyed) only unpins, which
 * iopt_pages_move_to_current() allows for.
 */
int iommufd_ioas_change_process(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_change_process *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	unsigned long user_pages = 0, mm_pages = 0;
	struct iopt_pages *pages, *next;
	struct iommufd_object *obj;
	unsigned long index;
	LIST_HEAD(list);
	int rc = 0;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	down_write(&ictx->pin_growth_rwsem);
	/* Only the index is used: @obj may be freed under us meanwhile. */
	xa_for_each(&ictx->objects, index, obj) {
		struct iommufd_ioas *ioas = iommufd_get_ioas(ictx, index);

		if (IS_ERR(ioas))
			continue;
		rc = iopt_list_file_pages(&ioas->iopt, &list, &user_pages,
					  &mm_pages);
		/*
		 * Only file mappings: drop the windows, which hold the owner
		 * (a cache; dropping it when the call fails later costs none).
		 */
		if (!rc)
			iopt_forget_windows(&ioas->iopt);
		iommufd_put_object(ictx, &ioas->obj);
		if (rc)
			break;
		/* Ten thousand IOASes take a while. */
		cond_resched();
	}
	if (!rc)
		rc = iopt_charge_current(user_pages, mm_pages);
	list_for_each_entry_safe(pages, next, &list, move_item) {
		if (!rc)
			iopt_pages_move_to_current(pages);
		list_del_init(&pages->move_item);
		iopt_put_pages(pages);
	}
	up_write(&ictx->pin_growth_rwsem);
	return rc;
}
