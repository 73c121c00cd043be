// SPDX-License-Identifier: GPL-2.0-only
/*
 * The HW_PAGETABLE object: an iommu_domain that mirrors an IOAS.
 *
 * A page table holds a reference on its IOAS, and every device attached to
 * it holds a reference on the page table, so neither can be destroyed from
 * under its users.
 */
#include <linux/iommu.h>
#include <linux/log2.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <uapi/linux/iommufd.h>

#include "iommufd_private.h"

void iommufd_hw_pagetable_destroy(struct iommufd_object *obj)
{
	struct iommufd_hw_pagetable *hwpt =
		container_of(obj, struct iommufd_hw_pagetable, obj);

	WARN_ON(!list_empty(&hwpt->devices));
	/* Only a page table that was finalized is on the IOAS's list. */
	if (!list_empty(&hwpt->hwpt_item)) {
		mutex_lock(&hwpt->ioas->mutex);
		list_del(&hwpt->hwpt_item);
		mutex_unlock(&hwpt->ioas->mutex);
	}
	if (hwpt->domain) {
		iopt_table_remove_domain(&hwpt->ioas->iopt, hwpt->domain);
		iommu_domain_free(hwpt->domain);
	}
	refcount_dec(&hwpt->ioas->obj.users);
	mutex_destroy(&hwpt->devices_lock);
}

/**
 * iommufd_hw_pagetable_alloc - build a page table mirroring an IOAS
 * @ictx: the context
 * @ioas: the IOAS; the page table holds a reference on it
 * @dev: a device the page table will be attached to, which picks the
 *	IOMMU driver
 * @flags: IOMMU_HWPT_ALLOC_DIRTY_TRACKING or 0
 *
 * The caller adds the page table to @ioas->hwpt_list and finalizes it, or
 * destroys it with iommufd_object_abort_and_destroy().
 *
 * Return: the page table, not yet visible, or an ERR_PTR: -EOPNOTSUPP if
 * @dev's IOMMU cannot track dirty IOVAs and @flags asks for it.
 */
struct iommufd_hw_pagetable *
iommufd_hw_pagetable_alloc(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			   struct device *dev, u32 flags)
{
	struct iommufd_hw_pagetable *hwpt;
	struct iommu_domain *domain;
	u32 domain_flags = 0;
	int rc;

	if (flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) {
		if (!device_iommu_capable(dev, IOMMU_CAP_DIRTY_TRACKING))
			return ERR_PTR(-EOPNOTSUPP);
		domain_flags |= IOMMU_DOMAIN_ALLOC_DIRTY_TRACKING;
	}

	hwpt = iommufd_object_alloc(ictx, hwpt, IOMMUFD_OBJ_HW_PAGETABLE);
	if (IS_ERR(hwpt))
		return hwpt;

	INIT_LIST_HEAD(&hwpt->devices);
	INIT_LIST_HEAD(&hwpt->hwpt_item);
	mutex_init(&hwpt->devices_lock);
	refcount_inc(&ioas->obj.users);
	hwpt->ioas = ioas;

	domain = iommufd_should_fail() ? ERR_PTR(-ENOMEM) :
			iommu_domain_alloc_flags(dev, domain_flags);
	if (IS_ERR(domain)) {
		rc = PTR_ERR(domain);
		goto out_abort;
	}
	hwpt->domain = domain;
	rc = iopt_table_add_domain(&ioas->iopt, hwpt->domain);
	if (rc) {
		iommu_domain_free(hwpt->domain);
		hwpt->domain = NULL;
		goto out_abort;
	}
	return hwpt;

out_abort:
	iommufd_object_abort_and_destroy(ictx, &hwpt->obj);
	return ERR_PTR(rc);
}

/**
 * iommufd_hwpt_alloc - the IOMMU_HWPT_ALLOC ioctl
 * @ucmd: the ioctl call
 *
 * A page table made on request is like one an attach makes, except that it
 * stays until userspace destroys it, with or without devices.
 *
 * Return: 0 or a negative errno, with nothing created.
 */
int iommufd_hwpt_alloc(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_alloc *cmd = ucmd->cmd;
	struct iommufd_hw_pagetable *hwpt;
	struct iommufd_object *pt_obj;
	struct iommufd_device *idev;
	struct iommufd_ioas *ioas;
	int rc;

	if (cmd->__reserved || cmd->__reserved2)
		return -EOPNOTSUPP;
	/* Data comes with a type, and a type with data. */
	if (cmd->data_type == IOMMU_HWPT_DATA_NONE ? cmd->data_len :
						     !cmd->data_len)
		return -EINVAL;

	idev = iommufd_get_device(ucmd->ictx, cmd->dev_id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);
	pt_obj = iommufd_get_object(ucmd->ictx, cmd->pt_id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(pt_obj)) {
		rc = PTR_ERR(pt_obj);
		goto out_put_idev;
	}

	/* Nested page tables (a page table as @pt_id) need driver data. */
	if (pt_obj->type == IOMMUFD_OBJ_HW_PAGETABLE) {
		rc = -EOPNOTSUPP;
		goto out_put_pt;
	}
	if (pt_obj->type != IOMMUFD_OBJ_IOAS ||
	    cmd->data_type != IOMMU_HWPT_DATA_NONE) {
		rc = -EINVAL;
		goto out_put_pt;
	}
	if (cmd->flags & ~IOMMU_HWPT_ALLOC_DIRTY_TRACKING) {
		rc = -EOPNOTSUPP;
		goto out_put_pt;
	}
	ioas = container_of(pt_obj, struct iommufd_ioas, obj);

	mutex_lock(&ioas->mutex);
	hwpt = iommufd_hw_pagetable_alloc(ucmd->ictx, ioas, idev->dev,
					  cmd->flags);
	if (IS_ERR(hwpt)) {
		rc = PTR_ERR(hwpt);
		goto out_unlock;
	}
	cmd->out_hwpt_id = hwpt->obj.id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc) {
		iommufd_object_abort_and_destroy(ucmd->ictx, &hwpt->obj);
		goto out_unlock;
	}
	list_add_tail(&hwpt->hwpt_item, &ioas->hwpt_list);
	iommufd_object_finalize(ucmd->ictx, &hwpt->obj);
out_unlock:
	mutex_unlock(&ioas->mutex);
out_put_pt:
	iommufd_put_object(ucmd->ictx, pt_obj);
out_put_idev:
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return rc;
}

/* The page table @id names, if it can track dirty IOVAs. */
static struct iommufd_hw_pagetable *
iommufd_get_dirty_hwpt(struct iommufd_ucmd *ucmd, u32 id)
{
	struct iommufd_object *obj;
	struct iommufd_hw_pagetable *hwpt;

	obj = iommufd_get_object(ucmd->ictx, id, IOMMUFD_OBJ_HW_PAGETABLE);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	hwpt = container_of(obj, struct iommufd_hw_pagetable, obj);
	if (!hwpt->domain->dirty_ops) {
		iommufd_put_object(ucmd->ictx, obj);
		return ERR_PTR(-EOPNOTSUPP);
	}
	return hwpt;
}

/**
 * iommufd_hwpt_set_dirty_tracking - the IOMMU_HWPT_SET_DIRTY_TRACKING ioctl
 * @ucmd: the ioctl call
 *
 * Return: 0 or a negative errno.
 */
int iommufd_hwpt_set_dirty_tracking(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_set_dirty_tracking *cmd = ucmd->cmd;
	struct iommufd_hw_pagetable *hwpt;
	int rc;

	if ((cmd->flags & ~IOMMU_HWPT_DIRTY_TRACKING_ENABLE) || cmd->__reserved)
		return -EOPNOTSUPP;

	hwpt = iommufd_get_dirty_hwpt(ucmd, cmd->hwpt_id);
	if (IS_ERR(hwpt))
		return PTR_ERR(hwpt);
	rc = iopt_set_dirty_tracking(&hwpt->ioas->iopt, hwpt->domain,
				     cmd->flags & IOMMU_HWPT_DIRTY_TRACKING_ENABLE);
	iommufd_put_object(ucmd->ictx, &hwpt->obj);
	return rc;
}

/**
 * iommufd_hwpt_get_dirty_bitmap - the IOMMU_HWPT_GET_DIRTY_BITMAP ioctl
 * @ucmd: the ioctl call
 *
 * The range is checked here for what needs no lock; against the IOAS's
 * alignment and mappings by iopt_read_and_clear_dirty().
 *
 * Return: 0 or a negative errno, see struct iommu_hwpt_get_dirty_bitmap.
 */
int iommufd_hwpt_get_dirty_bitmap(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_get_dirty_bitmap *cmd = ucmd->cmd;
	struct iommufd_hw_pagetable *hwpt;
	unsigned long flags = 0;
	u64 last;
	int rc;

	if ((cmd->flags & ~IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) ||
	    cmd->__reserved)
		return -EOPNOTSUPP;
	if (!cmd->length || !cmd->page_size ||
	    !is_power_of_2(cmd->page_size))
		return -EINVAL;
	if (check_add_overflow(cmd->iova, cmd->length - 1, &last) ||
	    (unsigned long)last != last)
		return -EOVERFLOW;
	if (cmd->flags & IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR)
		flags |= IOMMU_DIRTY_NO_CLEAR;

	hwpt = iommufd_get_dirty_hwpt(ucmd, cmd->hwpt_id);
	if (IS_ERR(hwpt))
		return PTR_ERR(hwpt);
	rc = iopt_read_and_clear_dirty(&hwpt->ioas->iopt, hwpt->domain, flags,
				       cmd->iova, cmd->length, cmd->page_size,
				       u64_to_user_ptr(cmd->data));
	iommufd_put_object(ucmd->ictx, &hwpt->obj);
	return rc;
}
