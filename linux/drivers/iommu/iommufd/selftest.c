// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test-only interfaces (CONFIG_IOMMUFD_TEST). Never enable in production.
 *
 * debugfs "iommufd/inject": writing "warn", "kasan" or "leak" makes the
 * kernel print a WARN, a KASAN out-of-bounds report or leak an object that
 * kmemleak will report. The test harness uses it to prove that its console
 * judge fails a run that shows any of these.
 */
#define pr_fmt(fmt) "iommufd: " fmt

#include <linux/compiler.h>
#include <linux/debugfs.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "iommufd_private.h"

static struct dentry *iommufd_test_dir;

void iommufd_selftest_destroy(struct iommufd_object *obj)
{
	struct iommufd_selftest_object *sobj =
		container_of(obj, struct iommufd_selftest_object, obj);

	if (sobj->held)
		iommufd_put_object(sobj->held);
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
	void *buf = kmalloc(64, GFP_KERNEL);

	/* Forget the only pointer; kmemleak reports it on its next scan. */
	OPTIMIZER_HIDE_VAR(buf);
	pr_info("harness self-test: leaking %p\n", buf);
	buf = NULL;
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
