// SPDX-License-Identifier: GPL-2.0-only
/*
 * The IOAS object: an IO address space, the user-visible face of an
 * io_pagetable.
 */
#include <linux/slab.h>
#include <uapi/linux/iommufd.h>

#include "iommufd_private.h"

void iommufd_ioas_destroy(struct iommufd_object *obj)
{
	struct iommufd_ioas *ioas = container_of(obj, struct iommufd_ioas, obj);

	iopt_destroy_table(&ioas->iopt);
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
	iopt_init_table(&ioas->iopt);
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
