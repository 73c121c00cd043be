// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/iommu: the character device, the per-file object table and the
 * ioctl dispatcher. See iommufd_private.h for the object lifetime rules.
 */
#define pr_fmt(fmt) "iommufd: " fmt

#include <linux/capability.h>
#include <linux/debugfs.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/iommu.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <uapi/linux/iommufd.h>

#include "io_pagetable.h"
#include "iommufd_private.h"
#include "iommufd_test.h"

#define CREATE_TRACE_POINTS
#include "iommufd_trace.h"

struct dentry *iommufd_debugfs_dir;

struct iommufd_object_ops {
	void (*destroy)(struct iommufd_object *obj);
};

static const struct iommufd_object_ops iommufd_object_ops[] = {
	[IOMMUFD_OBJ_IOAS] = {
		.destroy = iommufd_ioas_destroy,
	},
	[IOMMUFD_OBJ_HW_PAGETABLE] = {
		.destroy = iommufd_hw_pagetable_destroy,
	},
	[IOMMUFD_OBJ_DEVICE] = {
		.destroy = iommufd_device_destroy,
	},
	[IOMMUFD_OBJ_ACCESS] = {
		.destroy = iommufd_access_destroy_object,
	},
#ifdef CONFIG_IOMMUFD_TEST
	[IOMMUFD_OBJ_SELFTEST] = {
		.destroy = iommufd_selftest_destroy,
	},
#endif
};

struct iommufd_object *_iommufd_object_alloc(struct iommufd_ctx *ictx,
					     size_t size,
					     enum iommufd_object_type type)
{
	struct iommufd_object *obj;
	int rc;

	obj = kzalloc(size, GFP_KERNEL_ACCOUNT);
	if (!obj)
		return ERR_PTR(-ENOMEM);
	obj->type = type;
	refcount_set(&obj->users, 1);

	/*
	 * A zero entry reserves the ID while xa_load() still returns NULL for
	 * it, so nobody can find the object before it is finalized.
	 */
	rc = xa_alloc(&ictx->objects, &obj->id, XA_ZERO_ENTRY, xa_limit_31b,
		      GFP_KERNEL_ACCOUNT);
	if (rc) {
		kfree(obj);
		return ERR_PTR(rc);
	}
	return obj;
}

/* Make a fully set up object visible to lookups. */
void iommufd_object_finalize(struct iommufd_ctx *ictx,
			     struct iommufd_object *obj)
{
	void *old;

	old = xa_store(&ictx->objects, obj->id, obj, GFP_KERNEL);
	/* The ID was reserved by the zero entry, so the store cannot fail. */
	WARN_ON(old);
}

/* Release the ID and memory of an object that was never finalized. */
void iommufd_object_abort(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	void *old;

	old = xa_erase(&ictx->objects, obj->id);
	WARN_ON(old);
	kfree(obj);
}

/* Undo a partly or fully set up, but never finalized, object. */
void iommufd_object_abort_and_destroy(struct iommufd_ctx *ictx,
				      struct iommufd_object *obj)
{
	iommufd_object_ops[obj->type].destroy(obj);
	iommufd_object_abort(ictx, obj);
}

/**
 * iommufd_get_object - look up an object and take a reference on it
 * @ictx: the context
 * @id: the object's ID
 * @type: the type the caller expects, or IOMMUFD_OBJ_ANY
 *
 * Return: the object, to be released with iommufd_put_object(), or
 * ERR_PTR(-ENOENT) if @id names no finalized object of @type or the object
 * is being destroyed.
 */
struct iommufd_object *iommufd_get_object(struct iommufd_ctx *ictx, u32 id,
					  enum iommufd_object_type type)
{
	struct iommufd_object *obj;

	/* Objects are freed after a grace period: see iommufd_object_destroy(). */
	rcu_read_lock();
	obj = xa_load(&ictx->objects, id);
	if (!obj || (type != IOMMUFD_OBJ_ANY && obj->type != type) ||
	    !refcount_inc_not_zero(&obj->users))
		obj = ERR_PTR(-ENOENT);
	rcu_read_unlock();
	return obj;
}

/*
 * Take object @id out of the table if the table holds the only reference,
 * besides the caller's own long-term one when @owned. The count drops to 0
 * in one compare-and-exchange, so a concurrent refcount_inc_not_zero()
 * either comes first and makes this fail, or fails itself. Returns the
 * object, now owned by the caller, or an ERR_PTR.
 */
static struct iommufd_object *iommufd_object_remove(struct iommufd_ctx *ictx,
						    u32 id, bool owned)
{
	XA_STATE(xas, &ictx->objects, id);
	struct iommufd_object *obj;

	xa_lock(&ictx->objects);
	obj = xas_load(&xas);
	if (xa_is_zero(obj) || !obj) {
		obj = ERR_PTR(-ENOENT);
		goto out_unlock;
	}
	if (atomic_cmpxchg(&obj->users.refs, owned ? 2 : 1, 0) !=
	    (owned ? 2 : 1)) {
		obj = ERR_PTR(-EBUSY);
		goto out_unlock;
	}
	xas_store(&xas, NULL);
	if (ictx->vfio_ioas && &ictx->vfio_ioas->obj == obj)
		ictx->vfio_ioas = NULL;
out_unlock:
	xa_unlock(&ictx->objects);
	return obj;
}

/*
 * A lookup may still be reading the object it found just before it left
 * the table: free the memory only after an RCU grace period.
 */
static void iommufd_object_destroy(struct iommufd_object *obj)
{
	iommufd_object_ops[obj->type].destroy(obj);
	kfree_rcu(obj, rcu);
}

/**
 * iommufd_object_destroy_user - destroy an object on behalf of userspace
 * @ictx: the context
 * @id: the object's ID
 *
 * Return: 0, -ENOENT if @id names no finalized object, or -EBUSY if
 * anything besides the ID table holds a reference on it.
 */
int iommufd_object_destroy_user(struct iommufd_ctx *ictx, u32 id)
{
	struct iommufd_object *obj;

	obj = iommufd_object_remove(ictx, id, false);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	iommufd_object_destroy(obj);
	return 0;
}

/**
 * iommufd_object_destroy_owned - destroy an object a kernel user owns
 * @ictx: the context
 * @obj: the object; the caller holds a long-term reference on it, which
 *	this consumes, and no new long-term one may be taken
 *
 * Userspace cannot destroy such an object (IOMMU_DESTROY answers EBUSY), so
 * only short-term references, and long-term ones on their way out, can be
 * in the way: wait for them. Whoever drops one drops it with
 * iommufd_put_object(), which wakes this.
 */
void iommufd_object_destroy_owned(struct iommufd_ctx *ictx,
				  struct iommufd_object *obj)
{
	struct iommufd_object *removed;

	do {
		wait_event(ictx->destroy_wait,
			   refcount_read(&obj->users) <= 2);
		removed = iommufd_object_remove(ictx, obj->id, true);
	} while (removed == ERR_PTR(-EBUSY));
	if (WARN_ON(removed != obj))
		return;
	iommufd_object_destroy(obj);
}

static int iommufd_destroy(struct iommufd_ucmd *ucmd)
{
	struct iommu_destroy *cmd = ucmd->cmd;

	return iommufd_object_destroy_user(ucmd->ictx, cmd->id);
}

/* IOMMU_OPTION_RLIMIT_MODE of the context. */
int iommufd_option_rlimit_mode(struct iommufd_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	int rc = 0;

	if (cmd->object_id)
		return -EOPNOTSUPP;

	if (cmd->op == IOMMU_OPTION_OP_GET) {
		cmd->val64 = ictx->account_mode == IOPT_PAGES_ACCOUNT_MM;
		return iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
	if (cmd->op != IOMMU_OPTION_OP_SET)
		return -EOPNOTSUPP;
	if (!capable(CAP_SYS_RESOURCE))
		return -EPERM;
	if (cmd->val64 > 1)
		return -EINVAL;

	/* Mappings keep the mode they were made with: only change it early. */
	xa_lock(&ictx->objects);
	if (!xa_empty(&ictx->objects))
		rc = -EBUSY;
	else
		ictx->account_mode = cmd->val64 ? IOPT_PAGES_ACCOUNT_MM :
						  IOPT_PAGES_ACCOUNT_USER;
	xa_unlock(&ictx->objects);
	return rc;
}

static int iommufd_option(struct iommufd_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	switch (cmd->option_id) {
	case IOMMU_OPTION_RLIMIT_MODE:
		return iommufd_option_rlimit_mode(ucmd);
	case IOMMU_OPTION_HUGE_PAGES:
		return iommufd_ioas_option(ucmd);
	default:
		return -EOPNOTSUPP;
	}
}

/**
 * iommufd_ctx_create - create an empty context
 *
 * Return: the context or ERR_PTR(-ENOMEM).
 */
struct iommufd_ctx *iommufd_ctx_create(void)
{
	struct iommufd_ctx *ictx;

	ictx = kzalloc(sizeof(*ictx), GFP_KERNEL_ACCOUNT);
	if (!ictx)
		return ERR_PTR(-ENOMEM);
	xa_init_flags(&ictx->objects, XA_FLAGS_ALLOC1 | XA_FLAGS_ACCOUNT);
	ictx->account_mode = IOPT_PAGES_ACCOUNT_USER;
	init_waitqueue_head(&ictx->destroy_wait);
	mutex_init(&ictx->groups_lock);
	xa_init(&ictx->groups);
	init_rwsem(&ictx->pin_growth_rwsem);
	mutex_init(&ictx->ioas_pair_lock);
	iommufd_debugfs_add_ctx(ictx);
	return ictx;
}

/**
 * iommufd_ctx_destroy - destroy a context and every object in it
 * @ictx: the context; no ioctl may be running on it
 */
void iommufd_ctx_destroy(struct iommufd_ctx *ictx)
{
	struct iommufd_object *obj;
	unsigned long index;
	bool progress;

	/* Off the debugfs list first: its readers reference objects. */
	iommufd_debugfs_remove_ctx(ictx);
	/*
	 * Objects only reference objects created before them, so each pass
	 * frees at least the newest unreferenced objects until none is left.
	 */
	do {
		progress = false;
		xa_for_each(&ictx->objects, index, obj) {
			if (!refcount_dec_if_one(&obj->users))
				continue;
			xa_erase(&ictx->objects, index);
			iommufd_object_destroy(obj);
			progress = true;
			/* A context can hold thousands of objects. */
			cond_resched();
		}
	} while (progress);

	/* Anything left is a reference leak: keep it rather than free it. */
	WARN_ON(!xa_empty(&ictx->objects));
	xa_destroy(&ictx->objects);
	WARN_ON(!xa_empty(&ictx->groups));
	mutex_destroy(&ictx->groups_lock);
	mutex_destroy(&ictx->ioas_pair_lock);
	kfree(ictx);
}

static int iommufd_fops_open(struct inode *inode, struct file *filp)
{
	struct iommufd_ctx *ictx;

	ictx = iommufd_ctx_create();
	if (IS_ERR(ictx))
		return PTR_ERR(ictx);
	ictx->file = filp;
	filp->private_data = ictx;
	return 0;
}

static const struct file_operations iommufd_fops;

/**
 * iommufd_vfio_container_open - make an open of /dev/vfio/vfio a context
 * @inode: the inode of VFIO's misc device
 * @file: the file being opened
 *
 * VFIO calls this from its container's open when iommufd serves
 * /dev/vfio/vfio: the file becomes an iommufd context, which answers
 * type1's ioctls and charges pinned memory to the mm, as type1 does, and
 * VFIO's groups take it as a container.
 *
 * Return: 0 or a negative errno.
 */
int iommufd_vfio_container_open(struct inode *inode, struct file *file)
{
	int rc;

	/* The reference fops_get() would take; __fput() drops it. */
	if (!try_module_get(THIS_MODULE))
		return -ENODEV;
	rc = iommufd_fops_open(inode, file);
	if (rc) {
		module_put(THIS_MODULE);
		return rc;
	}
	((struct iommufd_ctx *)file->private_data)->account_mode =
		IOPT_PAGES_ACCOUNT_MM;
	/* As misc_open() does: from now on the file is an iommufd's. */
	replace_fops(file, &iommufd_fops);
	return 0;
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_container_open, IOMMUFD);

static int iommufd_fops_release(struct inode *inode, struct file *filp)
{
	iommufd_ctx_destroy(filp->private_data);
	return 0;
}

/**
 * iommufd_ucmd_respond - copy an ioctl's answer back to userspace
 * @ucmd: the ioctl call
 * @cmd_len: the size of the kernel's structure
 *
 * Copies no more than the size userspace gave, so an older userspace with
 * a shorter structure gets the part it knows.
 *
 * Return: 0 or -EFAULT.
 */
int iommufd_ucmd_respond(struct iommufd_ucmd *ucmd, size_t cmd_len)
{
	if (copy_to_user(ucmd->ubuffer, ucmd->cmd,
			 min_t(size_t, ucmd->user_size, cmd_len)))
		return -EFAULT;
	return 0;
}

/* Large enough for the structure of any ioctl. */
union ucmd_buffer {
	struct iommu_destroy destroy;
	struct iommu_hw_info info;
	struct iommu_hwpt_alloc hwpt;
	struct iommu_hwpt_get_dirty_bitmap get_dirty_bitmap;
	struct iommu_hwpt_set_dirty_tracking set_dirty_tracking;
	struct iommu_ioas_alloc alloc;
	struct iommu_ioas_allow_iovas allow_iovas;
	struct iommu_ioas_change_process change_process;
	struct iommu_ioas_copy copy;
	struct iommu_ioas_iova_ranges iova_ranges;
	struct iommu_ioas_map map;
	struct iommu_ioas_map_file map_file;
	struct iommu_ioas_unmap unmap;
	struct iommu_option option;
#ifdef CONFIG_IOMMUFD_TEST
	struct iommu_test_cmd test;
#endif
};

/**
 * struct iommufd_ioctl_op - one row of the ioctl table
 * @size: the size of the kernel's structure
 * @min_size: the smallest size userspace may give: the end of the last
 *	member the handler needs
 * @execute: the handler
 */
struct iommufd_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	int (*execute)(struct iommufd_ucmd *ucmd);
};

/* The table is indexed by ioctl number, so a call finds its row at once. */
#define IOCTL_OP(_ioctl, _fn, _struct, _last)                                  \
	[_IOC_NR(_ioctl) - IOMMUFD_CMD_BASE] = {                               \
		.size = sizeof(_struct) +                                      \
			BUILD_BUG_ON_ZERO(sizeof(union ucmd_buffer) <          \
					  sizeof(_struct)),                    \
		.min_size = offsetofend(_struct, _last),                       \
		.execute = _fn,                                                \
	}

static const struct iommufd_ioctl_op iommufd_ioctl_ops[] = {
	IOCTL_OP(IOMMU_DESTROY, iommufd_destroy, struct iommu_destroy, id),
	IOCTL_OP(IOMMU_GET_HW_INFO, iommufd_get_hw_info, struct iommu_hw_info,
		 __reserved),
	IOCTL_OP(IOMMU_HWPT_GET_DIRTY_BITMAP, iommufd_hwpt_get_dirty_bitmap,
		 struct iommu_hwpt_get_dirty_bitmap, data),
	IOCTL_OP(IOMMU_HWPT_SET_DIRTY_TRACKING, iommufd_hwpt_set_dirty_tracking,
		 struct iommu_hwpt_set_dirty_tracking, __reserved),
	IOCTL_OP(IOMMU_HWPT_ALLOC, iommufd_hwpt_alloc, struct iommu_hwpt_alloc,
		 __reserved),
	IOCTL_OP(IOMMU_IOAS_ALLOC, iommufd_ioas_alloc_ioctl,
		 struct iommu_ioas_alloc, out_ioas_id),
	IOCTL_OP(IOMMU_IOAS_ALLOW_IOVAS, iommufd_ioas_allow_iovas,
		 struct iommu_ioas_allow_iovas, allowed_iovas),
	IOCTL_OP(IOMMU_IOAS_CHANGE_PROCESS, iommufd_ioas_change_process,
		 struct iommu_ioas_change_process, __reserved),
	IOCTL_OP(IOMMU_IOAS_COPY, iommufd_ioas_copy, struct iommu_ioas_copy,
		 src_iova),
	IOCTL_OP(IOMMU_IOAS_IOVA_RANGES, iommufd_ioas_iova_ranges,
		 struct iommu_ioas_iova_ranges, out_iova_alignment),
	IOCTL_OP(IOMMU_IOAS_MAP, iommufd_ioas_map, struct iommu_ioas_map, iova),
	IOCTL_OP(IOMMU_IOAS_MAP_FILE, iommufd_ioas_map_file,
		 struct iommu_ioas_map_file, iova),
	IOCTL_OP(IOMMU_IOAS_UNMAP, iommufd_ioas_unmap, struct iommu_ioas_unmap,
		 length),
	IOCTL_OP(IOMMU_OPTION, iommufd_option, struct iommu_option, val64),
	IOCTL_OP(IOMMU_VFIO_IOAS, iommufd_vfio_ioas, struct iommu_vfio_ioas,
		 __reserved),
#ifdef CONFIG_IOMMUFD_TEST
	IOCTL_OP(IOMMU_TEST_CMD, iommufd_test, struct iommu_test_cmd, last),
#endif
};

static long iommufd_fops_ioctl(struct file *filp, unsigned int cmd,
			       unsigned long arg)
{
	const struct iommufd_ioctl_op *op;
	struct iommufd_ucmd ucmd = {};
	union ucmd_buffer buf;
	unsigned int nr;
	int rc;

	/* Every command is _IO(IOMMUFD_TYPE, nr): no direction or size bits. */
	nr = _IOC_NR(cmd);
	if (cmd != _IO(IOMMUFD_TYPE, nr) || nr < IOMMUFD_CMD_BASE ||
	    nr - IOMMUFD_CMD_BASE >= ARRAY_SIZE(iommufd_ioctl_ops)) {
		/* VFIO's type1 container ioctls, below iommufd's numbers. */
		rc = iommufd_vfio_ioctl(filp->private_data, cmd, arg);
		return rc == -ENOIOCTLCMD ? -ENOTTY : rc;
	}
	op = &iommufd_ioctl_ops[nr - IOMMUFD_CMD_BASE];
	if (!op->execute)
		return -ENOTTY;

	ucmd.ictx = filp->private_data;
	ucmd.ubuffer = (void __user *)arg;
	ucmd.cmd = &buf;
	/*
	 * Every valid structure has its mandatory part, which begins with its
	 * size: read that part in one go, which is all of the structure for
	 * most calls. Only if it cannot be read, tell an unreadable size
	 * (EFAULT) from a size too short (EINVAL) as a read of the size alone
	 * would have.
	 */
	if (copy_from_user(ucmd.cmd, ucmd.ubuffer, op->min_size)) {
		if (get_user(ucmd.user_size, (u32 __user *)ucmd.ubuffer))
			return -EFAULT;
		return ucmd.user_size < op->min_size ? -EINVAL : -EFAULT;
	}
	ucmd.user_size = *(u32 *)ucmd.cmd;
	if (ucmd.user_size < op->min_size)
		return -EINVAL;
	/* The rest: zeroed if userspace is older, checked if it is newer. */
	if (ucmd.user_size != op->size || op->size != op->min_size) {
		rc = copy_struct_from_user(ucmd.cmd + op->min_size,
					   op->size - op->min_size,
					   ucmd.ubuffer + op->min_size,
					   ucmd.user_size - op->min_size);
		if (rc)
			return rc;
	}
	return op->execute(&ucmd);
}

static const struct file_operations iommufd_fops = {
	.owner = THIS_MODULE,
	.open = iommufd_fops_open,
	.release = iommufd_fops_release,
	.unlocked_ioctl = iommufd_fops_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

/**
 * iommufd_ctx_from_file - the context behind an open /dev/iommu
 * @file: a file userspace passed in
 *
 * The caller holds a reference on @file for the duration of the call. The
 * context stays valid, even after userspace closes its descriptors, until
 * iommufd_ctx_put().
 *
 * Return: the context, or ERR_PTR(-EBADFD) if @file is not /dev/iommu.
 */
struct iommufd_ctx *iommufd_ctx_from_file(struct file *file)
{
	if (file->f_op != &iommufd_fops)
		return ERR_PTR(-EBADFD);
	/* The file's last fput() destroys the context: it is our reference. */
	get_file(file);
	return file->private_data;
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_from_file, IOMMUFD);

/**
 * iommufd_ctx_put - drop the reference iommufd_ctx_from_file() took
 * @ictx: the context
 */
void iommufd_ctx_put(struct iommufd_ctx *ictx)
{
	fput(ictx->file);
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_put, IOMMUFD);

/**
 * iommufd_ctx_has_group - whether a device of @group is bound to @ictx
 * @ictx: the context
 * @group: an IOMMU group
 *
 * Such a group belongs to the context's user as a whole, since a context
 * owns a group as soon as one of its devices is bound. A device whose bind
 * is under way does not count: its claim of the group may still fail,
 * because another context owns the group (VFIO's hot reset relies on this
 * answer to reset only devices the caller owns).
 *
 * Return: true if at least one device of @group is bound to @ictx.
 */
bool iommufd_ctx_has_group(struct iommufd_ctx *ictx, struct iommu_group *group)
{
	struct iommufd_group *igroup;
	bool found;

	mutex_lock(&ictx->groups_lock);
	igroup = xa_load(&ictx->groups, iommu_group_id(group));
	found = igroup && igroup->owners;
	mutex_unlock(&ictx->groups_lock);
	return found;
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_has_group, IOMMUFD);

static struct miscdevice iommufd_misc_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "iommu",
	.fops = &iommufd_fops,
	.nodename = "iommu",
	.mode = 0660,
};

static int __init iommufd_init(void)
{
	int rc;

	rc = iopt_area_cache_create();
	if (rc)
		return rc;
	rc = iopt_pages_cache_create();
	if (rc)
		goto err_area_cache;
	rc = misc_register(&iommufd_misc_dev);
	if (rc)
		goto err_pages_cache;
	iommufd_debugfs_dir = debugfs_create_dir("iommufd", NULL);
	iommufd_debugfs_init(iommufd_debugfs_dir);
	rc = iommufd_test_init();
	if (rc)
		goto err_debugfs;
	return 0;

err_debugfs:
	debugfs_remove_recursive(iommufd_debugfs_dir);
	misc_deregister(&iommufd_misc_dev);
err_pages_cache:
	iopt_pages_cache_destroy();
err_area_cache:
	iopt_area_cache_destroy();
	return rc;
}

static void __exit iommufd_exit(void)
{
	/* The files first: removing them waits for their readers. */
	debugfs_remove_recursive(iommufd_debugfs_dir);
	iommufd_test_exit();
	misc_deregister(&iommufd_misc_dev);
	iopt_pages_cache_destroy();
	iopt_area_cache_destroy();
}

module_init(iommufd_init);
module_exit(iommufd_exit);

MODULE_DESCRIPTION("I/O Address Space Management for passthrough devices");
MODULE_ALIAS("devname:iommu");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(IOMMUFD_INTERNAL);
