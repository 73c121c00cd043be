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
 * iommufd_hw_pagetable_setup_msi - let MSIs of a device through a page table
 * @hwpt: the page table
 * @idev: a device that attaches to it
 *
 * Where the platform does not translate MSI writes by itself (an ARM ITS
 * behind an SMMU, virtio-iommu), the IOMMU driver names a window of IOVA,
 * IOMMU_RESV_SW_MSI, where the DMA layer maps the MSI doorbells of the
 * devices that use the domain: the domain needs an MSI cookie at that base,
 * as VFIO type1 gives it. One cookie serves every device of the page table,
 * so they must agree on the window. Called with the IOAS's mutex held.
 *
 * Return: 0, -EINVAL if @idev's window is elsewhere than the cookie's, or
 * the errno of iommu_get_msi_cookie() (-ENODEV, without the DMA layer's
 * IOMMU support, is not an error: no doorbell is mapped then either).
 */
int iommufd_hw_pagetable_setup_msi(struct iommufd_hw_pagetable *hwpt,
				   struct iommufd_device *idev)
{
	int rc;

	lockdep_assert_held(&hwpt->ioas->mutex);

	if (idev->sw_msi_start == PHYS_ADDR_MAX)
		return 0;
	if (hwpt->msi_cookie)
		return hwpt->sw_msi_start == idev->sw_msi_start ? 0 : -EINVAL;
	if (iommufd_should_fail())
		return -ENOMEM;
	rc = iommu_get_msi_cookie(hwpt->domain, idev->sw_msi_start);
	if (rc && rc != -ENODEV)
		return rc;
	hwpt->msi_cookie = true;
	hwpt->sw_msi_start = idev->sw_msi_start;
	return 0;
}

/*
 * Have the IOMMU driver finish @domain for @idev's group, and put the group
 * back where it was. 6.1's drivers finish a domain at its first attach: VT-d
 * picks the address width (the aperture) and the large page sizes and may
 * free top-level tables, ARM SMMU and virtio-iommu make the page table and
 * set the aperture and page sizes. Until then nothing may be read of the
 * domain's geometry nor mapped into it.
 *
 * While the group is on @domain, its DMA is blocked (nothing is mapped yet);
 * a group that was attached elsewhere loses its DMA for that moment.
 */
static int iommufd_hw_pagetable_finish(struct iommu_domain *domain,
				       struct iommufd_device *idev)
{
	struct iommufd_group *igroup = idev->igroup;
	int rc;

	lockdep_assert_held(&igroup->lock);

	if (iommufd_should_fail())
		return -ENOMEM;
	rc = iommu_group_replace_domain(igroup->group, domain);
	if (rc)
		return rc;
	if (!igroup->hwpt) {
		iommu_detach_group(domain, igroup->group);
		return 0;
	}
	rc = iommu_group_replace_domain(igroup->group, igroup->hwpt->domain);
	if (rc) {
		/* Not left on a domain about to be freed: blocked instead. */
		dev_warn(idev->dev,
			 "could not go back to its page table (%d); DMA blocked until the next attach\n",
			 rc);
		iommu_detach_group(domain, igroup->group);
	}
	return 0;
}

/**
 * iommufd_hw_pagetable_alloc - build a page table mirroring an IOAS
 * @ictx: the context
 * @ioas: the IOAS; the page table holds a reference on it
 * @idev: the device the page table is made for: it picks the IOMMU driver,
 *	which finishes the domain for it; its group's lock is held, and the
 *	group stays where it was (the caller attaches it)
 * @flags: IOMMU_HWPT_ALLOC_DIRTY_TRACKING or 0
 *
 * In this order: the domain is allocated and finished by its driver (see
 * iommufd_hw_pagetable_finish()), made to enforce cache coherency where
 * @idev's IOMMU can (before anything is mapped: VT-d sets its snoop bit in
 * each entry as it writes it), given an MSI cookie if @idev needs one, and
 * only then filled with the IOAS's mappings, from the aperture and page
 * sizes its driver set, large pages included. A map running beside this
 * (under the IOAS's iova_rwsem only) cannot see the domain before it is
 * filled, so never walks a table its driver is still changing.
 *
 * The caller adds the page table to @ioas->hwpt_list and finalizes it, or
 * destroys it with iommufd_object_abort_and_destroy().
 *
 * Return: the page table, not yet visible, or an ERR_PTR: -EOPNOTSUPP if
 * @idev's IOMMU cannot track dirty IOVAs and @flags asks for it, -EINVAL if
 * it claims to enforce cache coherency and then does not, or the errno of
 * the driver's attach or of filling the domain.
 */
struct iommufd_hw_pagetable *
iommufd_hw_pagetable_alloc(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			   struct iommufd_device *idev, u32 flags)
{
	struct iommufd_hw_pagetable *hwpt;
	struct iommu_domain *domain;
	u32 domain_flags = 0;
	int rc;

	lockdep_assert_held(&ioas->mutex);

	if (flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) {
		if (!device_iommu_capable(idev->dev,
					  IOMMU_CAP_DIRTY_TRACKING))
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
			iommu_domain_alloc_flags(idev->dev, domain_flags);
	if (IS_ERR(domain)) {
		rc = PTR_ERR(domain);
		goto out_abort;
	}

	rc = iommufd_hw_pagetable_finish(domain, idev);
	if (rc)
		goto out_free_domain;

	/*
	 * A device whose IOMMU can enforce coherency gets it: VFIO tells KVM
	 * so (vfio_file_enforced_coherent()) from that capability alone.
	 */
	if (idev->enforce_cache_coherency) {
		if (!domain->ops->enforce_cache_coherency ||
		    !domain->ops->enforce_cache_coherency(domain)) {
			rc = -EINVAL;
			goto out_free_domain;
		}
		hwpt->enforce_cache_coherency = true;
	}

	hwpt->domain = domain;
	rc = iommufd_hw_pagetable_setup_msi(hwpt, idev);
	if (rc)
		goto out_clear_domain;

	rc = iopt_table_add_domain(&ioas->iopt, domain);
	if (rc)
		goto out_clear_domain;
	return hwpt;

out_clear_domain:
	hwpt->domain = NULL;
out_free_domain:
	iommu_domain_free(domain);
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
	mutex_lock(&idev->igroup->lock);
	hwpt = iommufd_hw_pagetable_alloc(ucmd->ictx, ioas, idev, cmd->flags);
	mutex_unlock(&idev->igroup->lock);
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
