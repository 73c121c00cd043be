// SPDX-License-Identifier: GPL-2.0-only
/*
 * The DEVICE object: a device a driver handed to an iommufd context.
 *
 * Binding claims the DMA ownership of the device's group for the context,
 * so the kernel's own DMA API no longer uses the group. Attaching points
 * the group at a page table built from an IOAS; the page table is shared by
 * the devices attached to the same IOAS when their IOMMU accepts it.
 *
 * The driver that bound the device holds a reference on the object until it
 * unbinds, so userspace cannot destroy it (IOMMU_DESTROY gives EBUSY).
 */
#include <linux/iommu.h>
#include <linux/slab.h>

#include "iommufd_private.h"

void iommufd_device_destroy(struct iommufd_object *obj)
{
	struct iommufd_device *idev =
		container_of(obj, struct iommufd_device, obj);

	WARN_ON(idev->hwpt);
	iommu_group_release_dma_owner(idev->group);
	iommu_group_put(idev->group);
}

/**
 * iommufd_device_bind - hand a device to an iommufd context
 * @ictx: the context
 * @dev: the device; its group must have no other device with a kernel
 *	driver using the DMA API
 * @id: the ID of the new device object
 *
 * Return: the device object, or an ERR_PTR: -ENODEV without an IOMMU group,
 * -EBUSY if the group is in use by the kernel or another owner.
 */
struct iommufd_device *iommufd_device_bind(struct iommufd_ctx *ictx,
					   struct device *dev, u32 *id)
{
	struct iommufd_device *idev;
	struct iommu_group *group;
	int rc;

	group = iommu_group_get(dev);
	if (!group)
		return ERR_PTR(-ENODEV);

	rc = iommu_group_claim_dma_owner(group, ictx);
	if (rc)
		goto out_group_put;

	idev = iommufd_object_alloc(ictx, idev, IOMMUFD_OBJ_DEVICE);
	if (IS_ERR(idev)) {
		rc = PTR_ERR(idev);
		goto out_release_owner;
	}
	idev->ictx = ictx;
	idev->dev = dev;
	idev->group = group;
	/* The binding driver's reference, dropped by iommufd_device_unbind(). */
	refcount_inc(&idev->obj.users);
	iommufd_object_finalize(ictx, &idev->obj);
	*id = idev->obj.id;
	return idev;

out_release_owner:
	iommu_group_release_dma_owner(group);
out_group_put:
	iommu_group_put(group);
	return ERR_PTR(rc);
}

/**
 * iommufd_device_unbind - undo iommufd_device_bind()
 * @idev: the device object, detached
 */
void iommufd_device_unbind(struct iommufd_device *idev)
{
	struct iommufd_ctx *ictx = idev->ictx;

	refcount_dec(&idev->obj.users);
	/* Lookups only ever hold the object briefly. */
	WARN_ON(iommufd_object_destroy_user(ictx, idev->obj.id));
}

/*
 * Attach to an existing page table of the IOAS, or to a new one when none
 * accepts the device.
 */
static struct iommufd_hw_pagetable *
iommufd_device_attach_ioas(struct iommufd_device *idev,
			   struct iommufd_ioas *ioas, bool *created)
{
	struct iommufd_hw_pagetable *hwpt;
	int rc;

	lockdep_assert_held(&ioas->mutex);

	list_for_each_entry(hwpt, &ioas->hwpt_list, hwpt_item) {
		if (!refcount_inc_not_zero(&hwpt->obj.users))
			continue;
		if (!iommu_attach_group(hwpt->domain, idev->group)) {
			*created = false;
			return hwpt;
		}
		refcount_dec(&hwpt->obj.users);
	}

	hwpt = iommufd_hw_pagetable_alloc(idev->ictx, ioas, idev->dev);
	if (IS_ERR(hwpt))
		return hwpt;
	rc = iommu_attach_group(hwpt->domain, idev->group);
	if (rc) {
		iommufd_object_abort_and_destroy(idev->ictx, &hwpt->obj);
		return ERR_PTR(rc);
	}
	list_add_tail(&hwpt->hwpt_item, &ioas->hwpt_list);
	hwpt->auto_domain = true;
	refcount_inc(&hwpt->obj.users);
	*created = true;
	return hwpt;
}

/**
 * iommufd_device_attach - let a device DMA through an IOAS
 * @idev: the device object, not attached
 * @pt_id: the IOAS; set to the ID of the page table the device got
 *
 * Return: 0 or a negative errno, with nothing changed.
 */
int iommufd_device_attach(struct iommufd_device *idev, u32 *pt_id)
{
	struct iommufd_hw_pagetable *hwpt;
	struct iommufd_ioas *ioas;
	bool created;

	if (idev->hwpt)
		return -EBUSY;

	ioas = iommufd_get_ioas(idev->ictx, *pt_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	mutex_lock(&ioas->mutex);
	hwpt = iommufd_device_attach_ioas(idev, ioas, &created);
	if (!IS_ERR(hwpt)) {
		mutex_lock(&hwpt->devices_lock);
		list_add_tail(&idev->devices_item, &hwpt->devices);
		mutex_unlock(&hwpt->devices_lock);
		idev->hwpt = hwpt;
		if (created)
			iommufd_object_finalize(idev->ictx, &hwpt->obj);
		*pt_id = hwpt->obj.id;
	}
	mutex_unlock(&ioas->mutex);
	iommufd_put_object(&ioas->obj);
	return PTR_ERR_OR_ZERO(hwpt);
}

/**
 * iommufd_device_detach - stop a device's DMA through its page table
 * @idev: the device object, attached
 *
 * The group goes back to blocking DMA (it stays owned by the context). A
 * page table the kernel created for the attach goes away with its last
 * device.
 */
void iommufd_device_detach(struct iommufd_device *idev)
{
	struct iommufd_hw_pagetable *hwpt = idev->hwpt;
	bool last;

	if (WARN_ON(!hwpt))
		return;
	iommu_detach_group(hwpt->domain, idev->group);
	mutex_lock(&hwpt->devices_lock);
	list_del(&idev->devices_item);
	last = list_empty(&hwpt->devices);
	mutex_unlock(&hwpt->devices_lock);
	idev->hwpt = NULL;
	refcount_dec(&hwpt->obj.users);
	/* Fails only if an ioctl holds it this instant; userspace may retry. */
	if (hwpt->auto_domain && last)
		iommufd_object_destroy_user(idev->ictx, hwpt->obj.id);
}
