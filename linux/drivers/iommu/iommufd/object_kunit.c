// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for the object table of an iommufd context.
 */
#include <kunit/test.h>
#include <linux/err.h>

#include "iommufd_private.h"

static int iommufd_object_test_init(struct kunit *test)
{
	struct iommufd_ctx *ictx = iommufd_ctx_create();

	KUNIT_ASSERT_FALSE(test, IS_ERR(ictx));
	test->priv = ictx;
	return 0;
}

static void iommufd_object_test_exit(struct kunit *test)
{
	iommufd_ctx_destroy(test->priv);
}

static unsigned long iommufd_test_count_objects(struct iommufd_ctx *ictx)
{
	struct iommufd_object *obj;
	unsigned long index, count = 0;

	xa_for_each(&ictx->objects, index, obj)
		count++;
	return count;
}

/* An object cannot be looked up until it is finalized. */
static void iommufd_test_invisible_until_finalized(struct kunit *test)
{
	struct iommufd_ctx *ictx = test->priv;
	struct iommufd_object *found;
	struct iommufd_ioas *ioas;

	ioas = iommufd_ioas_alloc(ictx);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ioas));
	KUNIT_EXPECT_NE(test, ioas->obj.id, 0);

	found = iommufd_get_object(ictx, ioas->obj.id, IOMMUFD_OBJ_ANY);
	KUNIT_EXPECT_EQ(test, PTR_ERR(found), -ENOENT);
	KUNIT_EXPECT_EQ(test, iommufd_object_destroy_user(ictx, ioas->obj.id),
			-ENOENT);
	KUNIT_EXPECT_EQ(test, iommufd_test_count_objects(ictx), 0);

	iommufd_object_finalize(ictx, &ioas->obj);
	found = iommufd_get_object(ictx, ioas->obj.id, IOMMUFD_OBJ_IOAS);
	KUNIT_ASSERT_PTR_EQ(test, found, &ioas->obj);
	KUNIT_EXPECT_EQ(test, refcount_read(&found->users), 2);
	iommufd_put_object(ictx, found);
	KUNIT_EXPECT_EQ(test, iommufd_test_count_objects(ictx), 1);
}

/* Aborting frees the ID: the next object gets it again. */
static void iommufd_test_abort_releases_id(struct kunit *test)
{
	struct iommufd_ctx *ictx = test->priv;
	struct iommufd_ioas *ioas;
	u32 id;

	ioas = iommufd_ioas_alloc(ictx);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ioas));
	id = ioas->obj.id;
	iommufd_object_abort_and_destroy(ictx, &ioas->obj);
	KUNIT_EXPECT_TRUE(test, xa_empty(&ictx->objects));

	ioas = iommufd_ioas_alloc(ictx);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ioas));
	KUNIT_EXPECT_EQ(test, ioas->obj.id, id);
	iommufd_object_finalize(ictx, &ioas->obj);
}

/* Destroy refuses while a reference is held and leaves the object intact. */
static void iommufd_test_destroy_busy(struct kunit *test)
{
	struct iommufd_ctx *ictx = test->priv;
	struct iommufd_object *held;
	struct iommufd_ioas *ioas;
	u32 id;

	ioas = iommufd_ioas_alloc(ictx);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ioas));
	id = ioas->obj.id;
	iommufd_object_finalize(ictx, &ioas->obj);

	held = iommufd_get_object(ictx, id, IOMMUFD_OBJ_IOAS);
	KUNIT_ASSERT_FALSE(test, IS_ERR(held));
	KUNIT_EXPECT_EQ(test, iommufd_object_destroy_user(ictx, id), -EBUSY);
	KUNIT_EXPECT_EQ(test, refcount_read(&held->users), 2);
	KUNIT_EXPECT_PTR_EQ(test, xa_load(&ictx->objects, id), (void *)held);
	iommufd_put_object(ictx, held);

	KUNIT_EXPECT_EQ(test, iommufd_object_destroy_user(ictx, id), 0);
	KUNIT_EXPECT_EQ(test, iommufd_object_destroy_user(ictx, id), -ENOENT);
	KUNIT_EXPECT_PTR_EQ(test, iommufd_get_object(ictx, id, IOMMUFD_OBJ_ANY),
			    ERR_PTR(-ENOENT));
	KUNIT_EXPECT_TRUE(test, xa_empty(&ictx->objects));
}

static void iommufd_test_unknown_ids(struct kunit *test)
{
	struct iommufd_ctx *ictx = test->priv;
	static const u32 ids[] = { 0, 1, 2, 1U << 31, U32_MAX };
	unsigned int i;

	for (i = 0; i != ARRAY_SIZE(ids); i++) {
		KUNIT_EXPECT_EQ(test, iommufd_object_destroy_user(ictx, ids[i]),
				-ENOENT);
		KUNIT_EXPECT_PTR_EQ(test,
				    iommufd_get_object(ictx, ids[i],
						       IOMMUFD_OBJ_ANY),
				    ERR_PTR(-ENOENT));
	}
}

#ifdef CONFIG_IOMMUFD_TEST
/* A lookup asking for another type fails and takes no reference. */
static void iommufd_test_wrong_type(struct kunit *test)
{
	struct iommufd_ctx *ictx = test->priv;
	struct iommufd_selftest_object *other;
	struct iommufd_object *found;
	struct iommufd_ioas *ioas;

	ioas = iommufd_ioas_alloc(ictx);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ioas));
	iommufd_object_finalize(ictx, &ioas->obj);
	other = iommufd_object_alloc(ictx, other, IOMMUFD_OBJ_SELFTEST);
	KUNIT_ASSERT_FALSE(test, IS_ERR(other));
	iommufd_object_finalize(ictx, &other->obj);

	found = iommufd_get_object(ictx, other->obj.id, IOMMUFD_OBJ_IOAS);
	KUNIT_EXPECT_PTR_EQ(test, found, ERR_PTR(-ENOENT));
	KUNIT_EXPECT_PTR_EQ(test, iommufd_get_ioas(ictx, other->obj.id),
			    ERR_PTR(-ENOENT));
	KUNIT_EXPECT_EQ(test, refcount_read(&other->obj.users), 1);

	found = iommufd_get_object(ictx, ioas->obj.id, IOMMUFD_OBJ_SELFTEST);
	KUNIT_EXPECT_PTR_EQ(test, found, ERR_PTR(-ENOENT));
	KUNIT_EXPECT_EQ(test, refcount_read(&ioas->obj.users), 1);

	found = iommufd_get_object(ictx, other->obj.id, IOMMUFD_OBJ_ANY);
	KUNIT_EXPECT_PTR_EQ(test, found, &other->obj);
	iommufd_put_object(ictx, found);
}

/*
 * Closing the context frees objects that hold references on older ones:
 * the first pass meets the older object still referenced and must come
 * back for it.
 */
static void iommufd_test_close_frees_dependencies(struct kunit *test)
{
	struct iommufd_ctx *ictx = iommufd_ctx_create();
	struct iommufd_selftest_object *holder;
	struct iommufd_ioas *ioas;

	KUNIT_ASSERT_FALSE(test, IS_ERR(ictx));
	ioas = iommufd_ioas_alloc(ictx);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ioas));
	iommufd_object_finalize(ictx, &ioas->obj);

	holder = iommufd_object_alloc(ictx, holder, IOMMUFD_OBJ_SELFTEST);
	KUNIT_ASSERT_FALSE(test, IS_ERR(holder));
	holder->held = iommufd_get_object(ictx, ioas->obj.id,
					  IOMMUFD_OBJ_IOAS);
	KUNIT_ASSERT_FALSE(test, IS_ERR(holder->held));
	iommufd_object_finalize(ictx, &holder->obj);

	KUNIT_EXPECT_EQ(test,
			iommufd_object_destroy_user(ictx, ioas->obj.id),
			-EBUSY);
	/* kmemleak would report the IOAS if this left it behind. */
	iommufd_ctx_destroy(ictx);
}
#else
static void iommufd_test_wrong_type(struct kunit *test)
{
	kunit_skip(test, "needs CONFIG_IOMMUFD_TEST for a second object type");
}

static void iommufd_test_close_frees_dependencies(struct kunit *test)
{
	kunit_skip(test, "needs CONFIG_IOMMUFD_TEST for a holding object");
}
#endif

static struct kunit_case iommufd_object_test_cases[] = {
	KUNIT_CASE(iommufd_test_invisible_until_finalized),
	KUNIT_CASE(iommufd_test_abort_releases_id),
	KUNIT_CASE(iommufd_test_destroy_busy),
	KUNIT_CASE(iommufd_test_unknown_ids),
	KUNIT_CASE(iommufd_test_wrong_type),
	KUNIT_CASE(iommufd_test_close_frees_dependencies),
	{}
};

static struct kunit_suite iommufd_object_test_suite = {
	.name = "iommufd_object",
	.init = iommufd_object_test_init,
	.exit = iommufd_object_test_exit,
	.test_cases = iommufd_object_test_cases,
};

kunit_test_suites(&iommufd_object_test_suite);
