// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO devices bound to an iommufd, through their cdev or through a group.
 *
 * A device behind an IOMMU is bound as an iommufd_device: iommufd claims its
 * DMA and attaches it to IO page tables. An emulated device (an mdev) has no
 * IOMMU of its own; it is bound as an iommufd_access, through which its
 * driver's vfio_pin_pages(), vfio_unpin_pages() and vfio_dma_rw() reach the
 * IOAS it is attached to, and userspace's unmaps reach the driver's
 * dma_unmap() before they return.
 *
 * VFIO_GROUP_SET_CONTAINER accepts an iommufd: the group then takes the
 * context's compatibility IOAS (see drivers/iommu/iommufd/vfio_compat.c),
 * and each of its devices, when first opened through the group, is bound
 * to the context and attached to that IOAS; the last close detaches and
 * unbinds it. Userspace manages the IOAS with IOMMU_IOAS_* ioctls, learning
 * its ID from IOMMU_VFIO_IOAS, or with the type1 ioctls when the iommufd is
 * /dev/vfio/vfio served by iommufd.
 *
 * A group of a device without an IOMMU (VFIO's unsafe no-IOMMU mode) takes
 * an iommufd as VFIO's no-IOMMU container: the context then offers
 * VFIO_NOIOMMU_IOMMU, makes no compatibility IOAS, and the device is
 * opened without being bound, as nothing translates its DMA. Such a
 * device has no cdev.
 *
 * The group holds a reference on the context from SET_CONTAINER until
 * UNSET_CONTAINER or the group file's release; an open device holds the
 * group file, as with a container.
 *
 * Locking: the group's group_lock protects group->iommufd. The device set's
 * lock covers a device's binding (iommufd_device, iommufd_access,
 * iommufd_attached, cdev_bound), as it covers open_count. The pin, unpin
 * and copy calls take no VFIO lock: the binding cannot change while the
 * device is open, and drivers only call them while it is.
 */
#include <linux/iommu.h>
#include <linux/iommufd.h>
#include <linux/module.h>
#include <linux/vfio.h>

#include "vfio.h"

/**
 * vfio_group_set_iommufd - give a group an iommufd instead of a container
 * @group: the group, without a container or iommufd
 * @file: the file userspace passed
 *
 * Return: 0, -EINVAL if @file is not an iommufd or the context cannot
 * serve groups of this kind along with those it serves, -ENOMEM.
 */
int vfio_group_set_iommufd(struct vfio_group *group, struct file *file)
{
	struct iommufd_ctx *ictx;
	u32 ioas_id;
	int ret;

	lockdep_assert_held(&group->group_lock);

	ictx = iommufd_ctx_from_file(file);
	if (IS_ERR(ictx))
		return -EINVAL;
	if (group->type == VFIO_NO_IOMMU)
		ret = iommufd_vfio_compat_set_no_iommu(ictx);
	else	/* A compatibility IOAS from now on. */
		ret = iommufd_vfio_compat_ioas_get_id(ictx, &ioas_id);
	if (ret) {
		iommufd_ctx_put(ictx);
		return ret;
	}
	group->iommufd = ictx;
	/* One user: the group itself, as vfio_container_attach_group(). */
	group->container_users = 1;
	return 0;
}

void vfio_group_unset_iommufd(struct vfio_group *group)
{
	lockdep_assert_held(&group->group_lock);
	WARN_ON(group->container_users != 1);

	iommufd_ctx_put(group->iommufd);
	group->iommufd = NULL;
	group->container_users = 0;
}

/**
 * vfio_group_iommufd_enforced_coherent - whether a group's DMA on an iommufd
 * snoops CPU caches
 * @group: the group, given an iommufd
 *
 * iommufd attaches a device whose IOMMU can enforce coherency only to page
 * tables that do (see vfio_device_cdev_enforced_coherent()), so the group's
 * DMA is coherent if every device's IOMMU can enforce it. An emulated
 * device has no IOMMU to ask: its parent's DMA into the pages it pins may
 * well bypass the caches (a GPU's), so it answers no, as through its cdev.
 *
 * Return: true if so.
 */
bool vfio_group_iommufd_enforced_coherent(struct vfio_group *group)
{
	struct vfio_device *device;
	bool ret = true;

	lockdep_assert_held(&group->group_lock);

	mutex_lock(&group->device_lock);
	list_for_each_entry(device, &group->device_list, group_next) {
		if (!device_iommu_capable(device->dev,
					  IOMMU_CAP_ENFORCE_CACHE_COHERENCY)) {
			ret = false;
			break;
		}
	}
	mutex_unlock(&group->device_lock);
	return ret;
}

/* Userspace unmaps IOVA an emulated device may have pinned. */
static void vfio_device_iommufd_access_unmap(void *data, unsigned long iova,
					     unsigned long length)
{
	struct vfio_device *device = data;

	if (device->ops->dma_unmap)
		device->ops->dma_unmap(device, iova, length);
}

static const struct iommufd_access_ops vfio_device_iommufd_access_ops = {
	.needs_pin_pages = 1,
	.unmap = vfio_device_iommufd_access_unmap,
};

/**
 * vfio_device_iommufd_bind - bind a device to an iommufd context
 * @device: the device, not bound
 * @ictx: the context
 * @id: set to the ID of the device's object in @ictx
 *
 * A device behind an IOMMU becomes an iommufd_device, which claims its DMA;
 * an emulated device becomes an access for its driver. Called with the
 * device set's lock held, before the driver's open_device().
 *
 * Return: 0, -EOPNOTSUPP for a no-IOMMU device, or the errno of
 * iommufd_device_bind() or iommufd_access_create().
 */
int vfio_device_iommufd_bind(struct vfio_device *device,
			     struct iommufd_ctx *ictx, u32 *id)
{
	struct iommufd_access *access;
	struct iommufd_device *idev;

	lockdep_assert_held(&device->dev_set->lock);

	switch (device->group->type) {
	case VFIO_IOMMU:
		idev = iommufd_device_bind(ictx, device->dev, id);
		if (IS_ERR(idev))
			return PTR_ERR(idev);
		device->iommufd_device = idev;
		return 0;
	case VFIO_EMULATED_IOMMU:
		access = iommufd_access_create(ictx,
					       &vfio_device_iommufd_access_ops,
					       device, id);
		if (IS_ERR(access))
			return PTR_ERR(access);
		device->iommufd_access = access;
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

/**
 * vfio_device_iommufd_attach - attach a bound device, or move it
 * @device: the device
 * @pt_id: the IOAS or page table; for a device behind an IOMMU given an
 *	IOAS, set to the page table iommufd chose
 *
 * An emulated device attaches to IOASes only. Called with the device set's
 * lock held; on error the device stays where it was.
 *
 * Return: 0 or the errno of the iommufd call.
 */
int vfio_device_iommufd_attach(struct vfio_device *device, u32 *pt_id)
{
	bool replace = device->iommufd_attached;
	int ret;

	lockdep_assert_held(&device->dev_set->lock);

	if (device->iommufd_access)
		ret = replace ?
		      iommufd_access_replace(device->iommufd_access, *pt_id) :
		      iommufd_access_attach(device->iommufd_access, *pt_id);
	else
		ret = replace ?
		      iommufd_device_replace(device->iommufd_device, pt_id) :
		      iommufd_device_attach(device->iommufd_device, pt_id);
	if (ret)
		return ret;
	device->iommufd_attached = true;
	return 0;
}

/**
 * vfio_device_iommufd_detach - detach a bound device, if attached
 * @device: the device
 *
 * Called with the device set's lock held. An emulated device's driver is
 * asked to unpin everything first.
 */
void vfio_device_iommufd_detach(struct vfio_device *device)
{
	lockdep_assert_held(&device->dev_set->lock);

	if (!device->iommufd_attached)
		return;
	if (device->iommufd_access)
		iommufd_access_detach(device->iommufd_access);
	else
		iommufd_device_detach(device->iommufd_device);
	device->iommufd_attached = false;
}

/**
 * vfio_device_iommufd_unbind - detach and unbind a device from its iommufd
 * @device: the device, bound through its group or its cdev, or not at all
 *
 * Called at the device's last close, after the driver's close_device(),
 * with the device set's lock held.
 */
void vfio_device_iommufd_unbind(struct vfio_device *device)
{
	lockdep_assert_held(&device->dev_set->lock);

	vfio_device_iommufd_detach(device);
	if (device->iommufd_access)
		iommufd_access_destroy(device->iommufd_access);
	else if (device->iommufd_device)
		iommufd_device_unbind(device->iommufd_device);
	device->iommufd_access = NULL;
	device->iommufd_device = NULL;
	device->cdev_bound = false;
}

/**
 * vfio_device_group_iommufd_bind - bind and attach a device opened through
 *	its group
 * @device: the device, being opened for the first time
 *
 * Called with the device set's lock and the group's group_lock held. A
 * device without an IOMMU is neither bound nor attached.
 *
 * Return: 0, -EPERM for a device without an IOMMU when the context has a
 * compatibility IOAS (userspace expects its DMA translated), or the errno
 * of the bind or attach.
 */
int vfio_device_group_iommufd_bind(struct vfio_device *device)
{
	struct vfio_group *group = device->group;
	u32 ioas_id, id;
	int ret;

	lockdep_assert_held(&group->group_lock);

	/* (VFIO asked for CAP_SYS_RAWIO already.) */
	if (group->type == VFIO_NO_IOMMU)
		return iommufd_vfio_compat_ioas_exists(group->iommufd) ?
		       -EPERM : 0;

	/* The IOAS that is the compatibility IOAS now, made if cleared. */
	ret = iommufd_vfio_compat_ioas_get_id(group->iommufd, &ioas_id);
	if (ret)
		return ret;
	ret = vfio_device_iommufd_bind(device, group->iommufd, &id);
	if (ret)
		return ret;
	ret = vfio_device_iommufd_attach(device, &ioas_id);
	if (ret) {
		vfio_device_iommufd_unbind(device);
		return ret;
	}
	return 0;
}

/*
 * The emulated device's pin, unpin and copy, when it is bound to an iommufd
 * (its group has no container). VFIO's IOVAs are dma_addr_t; iommufd's are
 * unsigned long, the same width on the 64-bit machines iommufd runs on.
 */
int vfio_device_iommufd_pin_pages(struct vfio_device *device, dma_addr_t iova,
				  int npage, int prot, struct page **pages)
{
	unsigned int flags = 0;
	int ret;

	if (!device->iommufd_access || !device->ops->dma_unmap)
		return -EINVAL;
	if (iova > ULONG_MAX)
		return -EINVAL;
	if (prot & IOMMU_WRITE)
		flags |= IOMMUFD_ACCESS_RW_WRITE;
	/*
	 * As with type1, @npage pages from the one @iova is in: the driver
	 * finds its data at @pages[0] + @iova % PAGE_SIZE (s390's vfio-ap and
	 * vfio-ccw pin byte addresses).
	 */
	ret = iommufd_access_pin_pages(device->iommufd_access,
				       ALIGN_DOWN(iova, PAGE_SIZE),
				       (unsigned long)npage * PAGE_SIZE, pages,
				       flags);
	return ret ? ret : npage;
}

void vfio_device_iommufd_unpin_pages(struct vfio_device *device,
				     dma_addr_t iova, int npage)
{
	if (WARN_ON(!device->iommufd_access || iova > ULONG_MAX))
		return;
	iommufd_access_unpin_pages(device->iommufd_access,
				   ALIGN_DOWN(iova, PAGE_SIZE),
				   (unsigned long)npage * PAGE_SIZE);
}

int vfio_device_iommufd_dma_rw(struct vfio_device *device, dma_addr_t iova,
			       void *data, size_t len, bool write)
{
	unsigned int flags = write ? IOMMUFD_ACCESS_RW_WRITE : 0;

	if (!device->iommufd_access || iova > ULONG_MAX)
		return -EINVAL;
	/* As type1, a caller without an mm is a kthread borrowing one. */
	if (!current->mm)
		flags |= IOMMUFD_ACCESS_RW_KTHREAD;
	return iommufd_access_rw(device->iommufd_access, iova, data, len,
				 flags);
}

MODULE_IMPORT_NS(IOMMUFD);
