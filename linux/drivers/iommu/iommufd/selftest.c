// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test-only interfaces (CONFIG_IOMMUFD_TEST). Never enable in production.
 *
 * IOMMU_TEST_CMD lets the selftests look inside the kernel (page pin
 * counts) and steer it (a smaller temporary memory budget, so that batch
 * boundaries are crossed with small buffers).
 *
 * debugfs "iommufd/inject": writing "warn", "kasan" or "leak" makes the
 * kernel print a WARN, a KASAN out-of-bounds report or leak an object that
 * kmemleak will report. The test harness uses it to prove that its console
 * judge fails a run that shows any of these.
 */
#define pr_fmt(fmt) "iommufd: " fmt

#include <linux/compiler.h>
#include <linux/debugfs.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <uapi/linux/iommufd.h>

#include "iommufd_private.h"
#include "iommufd_test.h"

static struct dentry *iommufd_test_dir;

/* The default budget for temporary buffers, in bytes; see iommufd_private.h. */
#define IOMMUFD_TEST_DEFAULT_MEMORY_LIMIT 65536
size_t iommufd_test_memory_limit = IOMMUFD_TEST_DEFAULT_MEMORY_LIMIT;

void iommufd_selftest_destroy(struct iommufd_object *obj)
{
	struct iommufd_selftest_object *sobj =
		container_of(obj, struct iommufd_selftest_object, obj);

	if (sobj->held)
		iommufd_put_object(sobj->held);
}

/*
 * Check that every page of [uptr, uptr + length) is pinned exactly refs
 * times. Compound pages are skipped: their pin count lives elsewhere.
 */
static int iommufd_test_check_refs(void __user *uptr, size_t length,
				   unsigned int refs)
{
	unsigned long addr = (unsigned long)uptr, end;

	if (length % PAGE_SIZE || addr % PAGE_SIZE ||
	    check_add_overflow(addr, length, &end))
		return -EINVAL;

	for (; addr != end; addr += PAGE_SIZE) {
		struct page *page;
		int rc;

		rc = get_user_pages_fast(addr, 1, 0, &page);
		if (rc < 0)
			return rc;
		if (WARN_ON(rc != 1))
			return -EFAULT;
		if (!PageCompound(page) &&
		    page_ref_count(page) / GUP_PIN_COUNTING_BIAS != refs)
			rc = -EIO;
		put_page(page);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Reserve an IOVA range of IOAS @id, as a device's MSI window would. */
static int iommufd_test_add_reserved(struct iommufd_ucmd *ucmd, u32 id,
				     unsigned long start, unsigned long length)
{
	struct iommufd_ioas *ioas;
	unsigned long last;
	int rc;

	if (!length || check_add_overflow(start, length - 1, &last))
		return -EINVAL;

	ioas = iommufd_get_ioas(ucmd->ictx, id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	down_write(&ioas->iopt.iova_rwsem);
	rc = iopt_reserve_iova(&ioas->iopt, start, last, NULL);
	up_write(&ioas->iopt.iova_rwsem);
	iommufd_put_object(&ioas->obj);
	return rc;
}

/**
 * iommufd_test - the IOMMU_TEST_CMD ioctl
 * @ucmd: the ioctl call
 *
 * Return: 0 or a negative errno, -EOPNOTSUPP for an unknown operation.
 */
int iommufd_test(struct iommufd_ucmd *ucmd)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;

	if (cmd->__reserved || cmd->last)
		return -EINVAL;

	switch (cmd->op) {
	case IOMMU_TEST_OP_ADD_RESERVED:
		return iommufd_test_add_reserved(ucmd, cmd->id,
						 cmd->add_reserved.start,
						 cmd->add_reserved.length);
	case IOMMU_TEST_OP_MD_CHECK_REFS:
		return iommufd_test_check_refs(u64_to_user_ptr(cmd->check_refs.uptr),
					       cmd->check_refs.length,
					       cmd->check_refs.refs);
	case IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT:
		/* A batch must hold at least one entry. */
		if (cmd->memory_limit.limit < sizeof(unsigned long) + sizeof(u32))
			return -EINVAL;
		iommufd_test_memory_limit = cmd->memory_limit.limit;
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

/* Read one byte past the end of a 16-byte allocation, for KASAN to catch. */
static noinline void iommufd_test_inject_kasan(void)
{
	char *buf = kmalloc(16, GFP_KERNEL);
	size_t index = 16;

	if (!buf)
		return;
	OPTIMIZER_HIDE_VAR(index);
	pr_info("harness self-test: reading byte %zu of a 16-byte buffer\n",
		index);
	pr_info("harness self-test: read %d\n", READ_ONCE(buf[index]));
	kfree(buf);
}

static noinline void iommufd_test_inject_leak(void)
{
	unsigned int i;

	/*
	 * Forget every pointer; kmemleak reports them on its next scan. A
	 * stale copy of the last one may linger on this kernel stack, where
	 * kmemleak would find it, so leak several.
	 */
	for (i = 0; i != 8; i++) {
		void *buf = kmalloc(64, GFP_KERNEL);

		OPTIMIZER_HIDE_VAR(buf);
	}
	pr_info("harness self-test: leaked 8 objects\n");
}

static ssize_t iommufd_test_inject_write(struct file *file,
					 const char __user *ubuf, size_t count,
					 loff_t *ppos)
{
	char what[16] = {};

	if (count >= sizeof(what))
		return -EINVAL;
	if (copy_from_user(what, ubuf, count))
		return -EFAULT;
	strim(what);

	if (!strcmp(what, "warn"))
		WARN(1, "iommufd: harness self-test WARN\n");
	else if (!strcmp(what, "kasan"))
		iommufd_test_inject_kasan();
	else if (!strcmp(what, "leak"))
		iommufd_test_inject_leak();
	else
		return -EINVAL;
	return count;
}

static const struct file_operations iommufd_test_inject_fops = {
	.write = iommufd_test_inject_write,
	.llseek = noop_llseek,
};

int iommufd_test_init(void)
{
	iommufd_test_dir = debugfs_create_dir("iommufd", NULL);
	debugfs_create_file("inject", 0200, iommufd_test_dir, NULL,
			    &iommufd_test_inject_fops);
	return 0;
}

void iommufd_test_exit(void)
{
	debugfs_remove_recursive(iommufd_test_dir);
}
