// SPDX-License-Identifier: GPL-2.0-only
/*
 * The io_pagetable: the IOVA space of an IOAS.
 */
#include <linux/bug.h>
#include <linux/interval_tree.h>

#include "iommufd_private.h"

void iopt_init_table(struct io_pagetable *iopt)
{
	init_rwsem(&iopt->iova_rwsem);
	iopt->area_itree = RB_ROOT_CACHED;
}

void iopt_destroy_table(struct io_pagetable *iopt)
{
	/* The IOAS can only be destroyed once nothing is mapped in it. */
	WARN_ON(!RB_EMPTY_ROOT(&iopt->area_itree.rb_root));
}
