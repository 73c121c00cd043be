// SPDX-License-Identifier: GPL-2.0-only
/*
 * A VFIO group given an iommufd instead of a container.
 *
 * VFIO_GROUP_SET_CONTAINER accepts an iommufd: the group then takes the
 * context's compatibility IOAS (see drivers/iommu/iommufd/vfio_compat.c),
 * and each of its devices, when first opened through the group, is bound
 * to the context and attached to that IOAS; the last close detaches and
 * unbinds it. Userspace manages the IOAS with IOMMU_IOAS_* ioctls, learning
 * its ID from IOMMU_VFIO_IOAS.
 *
 * The group holds a reference on the context from SET_CONTAINER until
 * UNSET_CONTAINER or the group file's release; an open device holds the
 * group file, as with a container. Only groups with a real IOMMU qualify.
 *
 * Locking: the group's group_lock protects group->iommufd;
 * the device set's lock covers the device's binding, as for the cdev.
 */
#include <linux/iommufd.h>
#include <linux/module.h>
#include <linux/vfio.h>

#include "vfio.h"

/**
 * vfio_group_set_iommufd - give a group an iommufd instead of a container
 * @group: the group, without a container or iommufd
 * @file: the file userspace passed
 *
 * Return: 0, -EINVAL if @file is not an iommufd or the group has no IOMMU,
 * -ENOMEM.
 */
int vfio_group_set_iommufd(struct vfio_group *group, struct file *file)
{
	struct iommufd_ctx *ictx;
	u32 ioas_id;
	int ret;

	lockdep_assert_held(&group->group_lock);

	if (group->type != VFIO_IOMMU)
		return -EINVAL;
	ictx = iommufd_ctx_from_file(file);
	if (IS_ERR(ictx))
		return -EINVAL;
	/* Make sure the context has a compatibility IOAS from now on. */
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
 * vfio_device_group_iommufd_bind - bind and attach a device opened through
 *	its group
 * @device: the device, being opened for the first time
 *
 * Called with the device set's lock and the group's group_lock held.
 *
 * Return: 0 or the errno of iommufd_device_bind() or _attach().
 */
int vfio_device_group_iommufd_bind(struct vfio_device *device)
{
	struct vfio_group *group = device->group;
	struct iommufd_device *idev;
	u32 ioas_id, devid;
	int ret;

	lockdep_assert_held(&device->dev_set->lock);
	lockdep_assert_held(&group->group_lock);

	/* The IOAS that is the compatibility IOAS now, made if cleared. */
	ret = iommufd_vfio_compat_ioas_get_id(group->iommufd, &ioas_id);
	if (ret)
		return ret;
	idev = iommufd_device_bind(group->iommufd, device->dev, &devid);
	if (IS_ERR(idev))
		return PTR_ERR(idev);
	ret = iommufd_device_attach(idev, &ioas_id);
	if (ret) {
		iommufd_device_unbind(idev);
		return ret;
	}
	device->iommufd_device = idev;
	device->iommufd_attached = true;
	return 0;
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

	if (!device->iommufd_device)
		return;
	if (device->iommufd_attached)
		iommufd_device_detach(device->iommufd_device);
	iommufd_device_unbind(device->iommufd_device);
	device->iommufd_device = NULL;
	device->iommufd_attached = false;
	device->cdev_bound = false;
}

MODULE_IMPORT_NS(IOMMUFD);
