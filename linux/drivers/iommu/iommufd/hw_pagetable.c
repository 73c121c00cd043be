// SPDX-License-Identifier: GPL-2.0-only
/*
 * The HW_PAGETABLE object: an iommu_domain that mirrors an IOAS.
 *
 * A page table holds a reference on its IOAS, and every device attached to
 * it holds a reference on the page table, so neither can be destroyed from
 * under its users.
 */
#include <linux/iommu.h>
#include <linux/slab.h>

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
 *
 * The caller adds the page table to @ioas->hwpt_list and finalizes it, or
 * destroys it with iommufd_object_abort_and_destroy().
 *
 * Return: the page table, not yet visible, or an ERR_PTR.
 */
struct iommufd_hw_pagetable *
iommufd_hw_pagetable_alloc(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			   struct device *dev)
{
	struct iommufd_hw_pagetable *hwpt;
	int rc;

	hwpt = iommufd_object_alloc(ictx, hwpt, IOMMUFD_OBJ_HW_PAGETABLE);
	if (IS_ERR(hwpt))
		return hwpt;

	INIT_LIST_HEAD(&hwpt->devices);
	INIT_LIST_HEAD(&hwpt->hwpt_item);
	mutex_init(&hwpt->devices_lock);
	refcount_inc(&ioas->obj.users);
	hwpt->ioas = ioas;

	hwpt->domain = iommufd_should_fail() ? NULL :
						  iommu_domain_alloc(dev->bus);
	if (!hwpt->domain) {
		rc = -ENOMEM;
		goto out_abort;
	}
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
