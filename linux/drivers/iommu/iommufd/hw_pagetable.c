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
	if (hwpt->filled)
		iopt_table_remove_domain(&hwpt->ioas->iopt, hwpt->domain);
	if (hwpt->domain && !hwpt->domain_stuck)
		iommu_domain_free(hwpt->domain);
	refcount_dec(&hwpt->ioas->obj.users);
	mutex_destroy(&hwpt->devices_lock);
}

/**
 * iommufd_hw_pagetable_msi_cookie - let MSIs of a device through a page table
 * @hwpt: the page table
 * @idev: a device that attaches to it
 *
 * Where the platform does not translate MSI writes by itself (an ARM ITS
 * behind an SMMU, virtio-iommu), the IOMMU driver names a window of IOVA,
 * IOMMU_RESV_SW_MSI, where the DMA layer maps the MSI doorbells of the
 * devices that use the domain: the domain needs an MSI cookie at that base,
 * as VFIO type1 gives it. One cookie serves every device of the page table,
 * so they must agree on the window. The doorbells stay mapped as long as
 * the domain, so the window stays reserved in the IOAS while the page
 * table mirrors it (iommufd_hw_pagetable_reserve_msi()). Called with the
 * IOAS's mutex held, once the device's group is on the page table.
 *
 * Return: 0, -EINVAL if @idev's window is elsewhere than the cookie's, or
 * the errno of iommu_get_msi_cookie(). Without the DMA layer's IOMMU
 * support (-ENODEV) no doorbell is ever mapped and no cookie is needed.
 */
int iommufd_hw_pagetable_msi_cookie(struct iommufd_hw_pagetable *hwpt,
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
	if (rc == -ENODEV)
		return 0;
	if (rc)
		return rc;
	hwpt->msi_cookie = true;
	hwpt->sw_msi_start = idev->sw_msi_start;
	hwpt->sw_msi_length = idev->sw_msi_length;
	return 0;
}

/**
 * iommufd_hw_pagetable_reserve_msi - keep a page table's MSI window unmapped
 * @hwpt: the page table, filled
 *
 * The window of its MSI cookie, if it has one, is reserved in the IOAS,
 * owned by the domain so that it goes with it. Called with the IOAS's
 * iova_rwsem held for writing.
 *
 * Return: 0, -EADDRINUSE if the window is mapped, or -ENOMEM.
 */
int iommufd_hw_pagetable_reserve_msi(struct iommufd_hw_pagetable *hwpt)
{
	struct io_pagetable *iopt = &hwpt->ioas->iopt;
	int rc;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	if (!hwpt->msi_cookie || hwpt->msi_reserved)
		return 0;
	rc = iopt_reserve_iova(iopt, hwpt->sw_msi_start,
			       hwpt->sw_msi_start + hwpt->sw_msi_length - 1,
			       hwpt->domain);
	if (rc)
		return rc;
	hwpt->msi_reserved = true;
	return 0;
}

/**
 * iommufd_hw_pagetable_alloc - make a page table for an IOAS
 * @ictx: the context
 * @ioas: the IOAS; the page table holds a reference on it
 * @idev: the device the page table is made for, which picks the IOMMU
 *	driver and the domain's abilities
 * @flags: IOMMU_HWPT_ALLOC_NEST_PARENT and IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
 *	or 0
 *
 * The page table's domain is neither finished nor filled: see
 * iommufd_hw_pagetable_fill(). The caller adds the page table to
 * @ioas->hwpt_list and finalizes it, or destroys it with
 * iommufd_object_abort_and_destroy().
 *
 * Return: the page table, not yet visible, or an ERR_PTR: -EOPNOTSUPP if
 * @idev's IOMMU driver cannot make a domain with the abilities of @flags,
 * -ENOMEM.
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
	/* Only a driver that makes such domains says yes. */
	if (flags & IOMMU_HWPT_ALLOC_NEST_PARENT)
		domain_flags |= IOMMU_DOMAIN_ALLOC_NEST_PARENT;

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
		iommufd_object_abort_and_destroy(ictx, &hwpt->obj);
		return ERR_PTR(rc);
	}
	hwpt->domain = domain;
	/*
	 * A device whose IOMMU can enforce coherency gets it, and only such
	 * devices use the page table: VFIO tells KVM so from the capability
	 * alone (vfio_file_enforced_coherent()). Enforced when filled.
	 */
	hwpt->enforce_cache_coherency = idev->enforce_cache_coherency;
	return hwpt;
}

/**
 * iommufd_hw_pagetable_fill - make a page table mirror its IOAS
 * @hwpt: a page table that does not yet
 * @idev: the device through whose group the driver finished the domain,
 *	at an attach just made (or will, for a domain its driver made usable
 *	at allocation)
 *
 * 6.1's IOMMU drivers finish a domain at its first attach: VT-d picks the
 * address width (the aperture) and the large page sizes and may free
 * top-level tables, ARM SMMU and virtio-iommu make the page table and set
 * the aperture and page sizes. Until then nothing may be read of the
 * domain's geometry nor mapped into it, so a page table is filled only
 * once a group was attached to it. In this order: the domain is made to
 * enforce cache coherency if the page table does (before anything is
 * mapped: VT-d sets its snoop bit in each entry as it writes it), given an
 * MSI cookie if @idev needs one, and only then filled with the IOAS's
 * mappings, from the aperture and page sizes its driver set, large pages
 * included. Maps running beside this cannot see the domain before it is
 * filled. Called with the IOAS's mutex and the group's lock held.
 *
 * Return: 0, -EINVAL if the IOMMU claims to enforce cache coherency and
 * then does not, or the errno of the MSI cookie or of filling the domain;
 * on error the page table is as it was, and can be filled later.
 */
int iommufd_hw_pagetable_fill(struct iommufd_hw_pagetable *hwpt,
			      struct iommufd_device *idev)
{
	struct iommu_domain *domain = hwpt->domain;
	struct io_pagetable *iopt = &hwpt->ioas->iopt;
	int rc;

	lockdep_assert_held(&hwpt->ioas->mutex);
	lockdep_assert_held(&idev->igroup->lock);

	if (hwpt->enforce_cache_coherency &&
	    (!domain->ops->enforce_cache_coherency ||
	     !domain->ops->enforce_cache_coherency(domain)))
		return -EINVAL;

	rc = iommufd_hw_pagetable_msi_cookie(hwpt, idev);
	if (rc)
		return rc;

	rc = iopt_table_add_domain(iopt, domain);
	if (rc)
		return rc;
	hwpt->aperture_start = domain->geometry.aperture_start;
	hwpt->aperture_last = domain->geometry.aperture_end;
	hwpt->filled = true;
	down_write(&iopt->iova_rwsem);
	rc = iommufd_hw_pagetable_reserve_msi(hwpt);
	up_write(&iopt->iova_rwsem);
	if (rc) {
		hwpt->filled = false;
		iopt_table_remove_domain(iopt, domain);
	}
	return rc;
}

/**
 * iommufd_hwpt_alloc - the IOMMU_HWPT_ALLOC ioctl
 * @ucmd: the ioctl call
 *
 * A page table made on request is like one an attach makes, except that it
 * stays until userspace destroys it, with or without devices. It is
 * finished against the device it is made for, and filled, at once: see
 * iommufd_device_fill_hwpt().
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
		/* Upstream's errno for a @pt_id that names nothing. */
		rc = -EINVAL;
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
	if (cmd->flags & ~(IOMMU_HWPT_ALLOC_NEST_PARENT |
			   IOMMU_HWPT_ALLOC_DIRTY_TRACKING)) {
		rc = -EOPNOTSUPP;
		goto out_put_pt;
	}
	ioas = container_of(pt_obj, struct iommufd_ioas, obj);

	mutex_lock(&ioas->mutex);
	hwpt = iommufd_hw_pagetable_alloc(ucmd->ictx, ioas, idev, cmd->flags);
	if (IS_ERR(hwpt)) {
		rc = PTR_ERR(hwpt);
		goto out_unlock;
	}
	rc = iommufd_device_fill_hwpt(idev, hwpt);
	if (rc)
		goto out_abort;
	cmd->out_hwpt_id = hwpt->obj.id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto out_abort;
	list_add_tail(&hwpt->hwpt_item, &ioas->hwpt_list);
	iommufd_object_finalize(ucmd->ictx, &hwpt->obj);
	goto out_unlock;

out_abort:
	iommufd_object_abort_and_destroy(ucmd->ictx, &hwpt->obj);
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
