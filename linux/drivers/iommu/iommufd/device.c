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
#include <linux/log2.h>
#include <linux/pci.h>
#include <linux/pci-ats.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <uapi/linux/iommufd.h>

#include "iommufd_private.h"

void iommufd_device_destroy(struct iommufd_object *obj)
{
	struct iommufd_device *idev =
		container_of(obj, struct iommufd_device, obj);

	WARN_ON(idev->hwpt);
	mutex_destroy(&idev->attach_lock);
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
	mutex_init(&idev->attach_lock);
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
	iommufd_object_destroy_owned(idev->ictx, &idev->obj);
}

/* Point the device's group at @domain; the group never passes elsewhere. */
static int iommufd_device_set_domain(struct iommufd_device *idev,
				     struct iommu_domain *domain)
{
	if (iommufd_should_fail())
		return -ENOMEM;
	return iommu_group_replace_domain(idev->group, domain);
}

/*
 * Move the device to an existing page table of the IOAS, or to a new one
 * when none accepts it. Returns the page table with a reference for the
 * device; *created tells whether the caller must finalize it.
 */
static struct iommufd_hw_pagetable *
iommufd_device_set_ioas(struct iommufd_device *idev, struct iommufd_ioas *ioas,
			bool *created)
{
	struct iommufd_hw_pagetable *hwpt;
	int rc;

	lockdep_assert_held(&ioas->mutex);

	*created = false;
	list_for_each_entry(hwpt, &ioas->hwpt_list, hwpt_item) {
		if (!refcount_inc_not_zero(&hwpt->obj.users))
			continue;
		if (hwpt == idev->hwpt ||
		    !iommufd_device_set_domain(idev, hwpt->domain))
			return hwpt;
		refcount_dec(&hwpt->obj.users);
	}

	hwpt = iommufd_hw_pagetable_alloc(idev->ictx, ioas, idev->dev);
	if (IS_ERR(hwpt))
		return hwpt;
	rc = iommufd_device_set_domain(idev, hwpt->domain);
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

/* Move the device to page table @hwpt; returns it with a reference. */
static struct iommufd_hw_pagetable *
iommufd_device_set_hwpt(struct iommufd_device *idev,
			struct iommufd_hw_pagetable *hwpt)
{
	int rc;

	lockdep_assert_held(&hwpt->ioas->mutex);

	if (hwpt != idev->hwpt) {
		rc = iommufd_device_set_domain(idev, hwpt->domain);
		if (rc)
			return ERR_PTR(rc);
	}
	refcount_inc(&hwpt->obj.users);
	return hwpt;
}

/* Take the device off the list of its page table; true if it was last. */
static bool iommufd_device_unlink(struct iommufd_device *idev,
				  struct iommufd_hw_pagetable *hwpt)
{
	bool last;

	mutex_lock(&hwpt->devices_lock);
	list_del(&idev->devices_item);
	last = list_empty(&hwpt->devices);
	mutex_unlock(&hwpt->devices_lock);
	return last;
}

/*
 * Drop the reference of a device that left @hwpt; a page table the kernel
 * made goes with its last device.
 */
static void iommufd_device_put_hwpt(struct iommufd_device *idev,
				    struct iommufd_hw_pagetable *hwpt,
				    bool last)
{
	refcount_dec(&hwpt->obj.users);
	/* Fails only if an ioctl holds it this instant; userspace may retry. */
	if (hwpt->auto_domain && last)
		iommufd_object_destroy_user(idev->ictx, hwpt->obj.id);
}

/*
 * Attach or replace: move the device to the page table @pt_id names, or
 * that the kernel picks for the IOAS @pt_id names.
 */
static int iommufd_device_change_pt(struct iommufd_device *idev, u32 *pt_id)
{
	struct iommufd_hw_pagetable *hwpt, *old_hwpt = idev->hwpt;
	struct iommufd_object *pt_obj;
	struct iommufd_ioas *ioas;
	bool created = false;
	bool old_last = false;

	pt_obj = iommufd_get_object(idev->ictx, *pt_id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(pt_obj))
		return PTR_ERR(pt_obj);

	switch (pt_obj->type) {
	case IOMMUFD_OBJ_IOAS:
		ioas = container_of(pt_obj, struct iommufd_ioas, obj);
		mutex_lock(&ioas->mutex);
		hwpt = iommufd_device_set_ioas(idev, ioas, &created);
		break;
	case IOMMUFD_OBJ_HW_PAGETABLE:
		hwpt = container_of(pt_obj, struct iommufd_hw_pagetable, obj);
		ioas = hwpt->ioas;
		mutex_lock(&ioas->mutex);
		hwpt = iommufd_device_set_hwpt(idev, hwpt);
		break;
	default:
		iommufd_put_object(idev->ictx, pt_obj);
		return -EINVAL;
	}
	if (IS_ERR(hwpt))
		goto out_unlock;

	if (hwpt == old_hwpt) {
		/* Already there: keep the one reference the device had. */
		refcount_dec(&hwpt->obj.users);
	} else {
		if (old_hwpt)
			old_last = iommufd_device_unlink(idev, old_hwpt);
		mutex_lock(&hwpt->devices_lock);
		list_add_tail(&idev->devices_item, &hwpt->devices);
		mutex_unlock(&hwpt->devices_lock);
		idev->hwpt = hwpt;
		if (created)
			iommufd_object_finalize(idev->ictx, &hwpt->obj);
	}
	*pt_id = hwpt->obj.id;
out_unlock:
	mutex_unlock(&ioas->mutex);
	iommufd_put_object(idev->ictx, pt_obj);
	if (IS_ERR(hwpt))
		return PTR_ERR(hwpt);
	if (old_hwpt && old_hwpt != hwpt)
		iommufd_device_put_hwpt(idev, old_hwpt, old_last);
	return 0;
}

/**
 * iommufd_device_attach - let a device DMA through an IOAS or page table
 * @idev: the device object, not attached
 * @pt_id: an IOAS, for which a compatible page table is found or made, or a
 *	page table; set to the ID of the page table the device got
 *
 * Return: 0, -EINVAL if already attached or @pt_id names another kind of
 * object, -ENOENT if it names nothing, or the IOMMU driver's errno; on
 * error nothing changed.
 */
int iommufd_device_attach(struct iommufd_device *idev, u32 *pt_id)
{
	int rc;

	mutex_lock(&idev->attach_lock);
	if (idev->hwpt)
		rc = -EINVAL;
	else
		rc = iommufd_device_change_pt(idev, pt_id);
	mutex_unlock(&idev->attach_lock);
	return rc;
}

/**
 * iommufd_device_replace - move an attached device to another IOAS or page
 * table
 * @idev: the device object, attached
 * @pt_id: as for iommufd_device_attach()
 *
 * The device's DMA goes through the old page table until it goes through
 * the new one, never elsewhere. A page table the kernel created for the
 * device goes away with its last device.
 *
 * Return: 0, -EINVAL if not attached, or an errno of
 * iommufd_device_attach(); on error the device stays where it was.
 */
int iommufd_device_replace(struct iommufd_device *idev, u32 *pt_id)
{
	int rc;

	mutex_lock(&idev->attach_lock);
	if (!idev->hwpt)
		rc = -EINVAL;
	else
		rc = iommufd_device_change_pt(idev, pt_id);
	mutex_unlock(&idev->attach_lock);
	return rc;
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
	struct iommufd_hw_pagetable *hwpt;

	mutex_lock(&idev->attach_lock);
	hwpt = idev->hwpt;
	if (WARN_ON(!hwpt))
		goto out_unlock;
	iommu_detach_group(hwpt->domain, idev->group);
	idev->hwpt = NULL;
	iommufd_device_put_hwpt(idev, hwpt, iommufd_device_unlink(idev, hwpt));
out_unlock:
	mutex_unlock(&idev->attach_lock);
}

/* How many PASID bits both the device and its IOMMU support. */
static u8 iommufd_device_pasid_log2(struct device *dev)
{
	u32 iommu_max = dev->iommu->iommu_dev->max_pasids;
	int dev_max;
	u8 log2;

	if (iommufd_test_device_pasid_log2(dev, &log2))
		return log2;
	if (!dev_is_pci(dev) || !iommu_max)
		return 0;
	dev_max = pci_max_pasids(to_pci_dev(dev));
	if (dev_max <= 0)
		return 0;
	return ilog2(min_t(u32, dev_max, iommu_max));
}

/**
 * iommufd_get_hw_info - the IOMMU_GET_HW_INFO ioctl
 * @ucmd: the ioctl call
 *
 * Return: 0 or a negative errno.
 */
int iommufd_get_hw_info(struct iommufd_ucmd *ucmd)
{
	struct iommu_hw_info *cmd = ucmd->cmd;
	void __user *uptr = u64_to_user_ptr(cmd->data_uptr);
	u32 want = IOMMU_HW_INFO_TYPE_DEFAULT, type, len = 0, copy;
	const struct iommu_ops *ops;
	struct iommufd_device *idev;
	void *data = NULL;
	int rc;

	if ((cmd->flags & ~IOMMU_HW_INFO_FLAG_INPUT_TYPE) ||
	    cmd->__reserved[0] || cmd->__reserved[1] || cmd->__reserved[2])
		return -EOPNOTSUPP;
	if (cmd->flags & IOMMU_HW_INFO_FLAG_INPUT_TYPE)
		want = cmd->in_data_type;

	idev = iommufd_get_device(ucmd->ictx, cmd->dev_id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);

	ops = dev_iommu_ops(idev->dev);
	type = IOMMU_HW_INFO_TYPE_NONE;
	if (ops->hw_info) {
		data = ops->hw_info(idev->dev, &len, &type);
		if (IS_ERR(data)) {
			rc = PTR_ERR(data);
			data = NULL;
			goto out_put;
		}
	}
	if (want != IOMMU_HW_INFO_TYPE_DEFAULT && want != type) {
		rc = -EOPNOTSUPP;
		goto out_free;
	}

	/* As much as both sides have; the rest of the user's buffer is 0. */
	copy = min(cmd->data_len, len);
	if (copy_to_user(uptr, data, copy) ||
	    clear_user(uptr + copy, cmd->data_len - copy)) {
		rc = -EFAULT;
		goto out_free;
	}
	cmd->data_len = len;
	cmd->out_data_type = type;
	cmd->out_max_pasid_log2 = iommufd_device_pasid_log2(idev->dev);
	cmd->out_capabilities = 0;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out_free:
	kfree(data);
out_put:
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return rc;
}
