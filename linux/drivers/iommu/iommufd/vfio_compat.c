// SPDX-License-Identifier: GPL-2.0-only
/*
 * The compatibility IOAS: the one IOAS of a context that VFIO's group
 * interface uses, since that interface has no way to name an IOAS.
 *
 * ictx->vfio_ioas points at it without holding a reference, under the
 * objects xarray's lock: removing the IOAS from the table clears the
 * pointer in the same critical section (iommufd_object_remove()), so a
 * reader under the lock either sees a live object or nothing.
 */
#include <linux/iommufd.h>
#include <linux/module.h>
#include <uapi/linux/iommufd.h>

#include "iommufd_private.h"

/* The compatibility IOAS with a reference taken, or ERR_PTR(-ENODEV). */
static struct iommufd_ioas *iommufd_vfio_ioas_get(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas = ERR_PTR(-ENODEV);

	xa_lock(&ictx->objects);
	if (ictx->vfio_ioas &&
	    refcount_inc_not_zero(&ictx->vfio_ioas->obj.users))
		ioas = ictx->vfio_ioas;
	xa_unlock(&ictx->objects);
	return ioas;
}

/**
 * iommufd_vfio_compat_ioas_get_id - the compatibility IOAS, made if needed
 * @ictx: the context
 * @ioas_id: set to the IOAS's ID
 *
 * VFIO calls this when a group is given an iommufd instead of a container,
 * and attaches the group's devices to the IOAS when they are opened.
 *
 * Return: 0 or -ENOMEM.
 */
int iommufd_vfio_compat_ioas_get_id(struct iommufd_ctx *ictx, u32 *ioas_id)
{
	struct iommufd_ioas *ioas;

	ioas = iommufd_vfio_ioas_get(ictx);
	if (!IS_ERR(ioas)) {
		*ioas_id = ioas->obj.id;
		iommufd_put_object(ictx, &ioas->obj);
		return 0;
	}

	ioas = iommufd_ioas_alloc(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	xa_lock(&ictx->objects);
	if (ictx->vfio_ioas) {
		/* Another thread set one meanwhile: use it. */
		*ioas_id = ictx->vfio_ioas->obj.id;
		xa_unlock(&ictx->objects);
		iommufd_object_abort_and_destroy(ictx, &ioas->obj);
		return 0;
	}
	/*
	 * Published before it is finalized: until then a lookup by its ID
	 * fails with ENOENT, as for an ID that does not exist yet.
	 */
	ictx->vfio_ioas = ioas;
	*ioas_id = ioas->obj.id;
	xa_unlock(&ictx->objects);
	iommufd_object_finalize(ictx, &ioas->obj);
	return 0;
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_ioas_get_id, IOMMUFD);

int iommufd_vfio_ioas(struct iommufd_ucmd *ucmd)
{
	struct iommu_vfio_ioas *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct iommufd_ioas *ioas;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	switch (cmd->op) {
	case IOMMU_VFIO_IOAS_GET:
		ioas = iommufd_vfio_ioas_get(ictx);
		if (IS_ERR(ioas))
			return PTR_ERR(ioas);
		cmd->ioas_id = ioas->obj.id;
		iommufd_put_object(ictx, &ioas->obj);
		return iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	case IOMMU_VFIO_IOAS_SET:
		ioas = iommufd_get_ioas(ictx, cmd->ioas_id);
		if (IS_ERR(ioas))
			return PTR_ERR(ioas);
		xa_lock(&ictx->objects);
		ictx->vfio_ioas = ioas;
		xa_unlock(&ictx->objects);
		iommufd_put_object(ictx, &ioas->obj);
		return 0;
	case IOMMU_VFIO_IOAS_CLEAR:
		xa_lock(&ictx->objects);
		ictx->vfio_ioas = NULL;
		xa_unlock(&ictx->objects);
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}
