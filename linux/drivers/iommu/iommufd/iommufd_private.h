/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iommufd internals.
 *
 * Object lifetime
 * ---------------
 * Everything userspace creates through /dev/iommu is an iommufd_object kept
 * in the context's xarray under a u32 ID. An object is born invisible: its
 * ID is reserved with a zero entry, so lookups cannot find it while the
 * creating ioctl can still fail (including when copying the answer back to
 * userspace). Only iommufd_object_finalize() makes it visible; any failure
 * before that ends with iommufd_object_abort_and_destroy().
 *
 * obj->users counts one reference for the xarray plus one for every holder:
 * a lookup made by an ioctl in progress (short term) or another object that
 * depends on this one (long term). Lookups take their reference with
 * refcount_inc_not_zero() under RCU, without the xarray lock: an object's
 * memory is freed only after a grace period. IOMMU_DESTROY succeeds only when
 * the xarray's reference is the last one: it drops users from 1 to 0 and
 * erases the entry in one step under the xarray lock, so no new lookup can
 * race with the destruction, and answers EBUSY otherwise. Because the
 * table's reference always outlives the others, iommufd_put_object() never
 * frees; the object's destroy function and kfree_rcu() run only in the
 * destroy paths.
 *
 * A kernel user that owns an object (a driver's device or access) keeps a
 * long-term reference of its own and destroys the object itself with
 * iommufd_object_destroy_owned(), which waits for short-term holders to
 * let go; iommufd_put_object() wakes it.
 *
 * Closing the file destroys every object. No ioctl can be running then, so
 * only long-term references remain; these form a DAG (an object only
 * references objects created before it), and destroying, pass after pass,
 * the objects nobody else references empties the table.
 *
 * Locking order
 * -------------
 *   iommufd_ioas.mutex -> [iommufd_ctx.pin_growth_rwsem ->]
 *     io_pagetable.iova_rwsem -> iopt_pages.mutex -> mmap_lock
 *   iommufd_device.attach_lock -> iommufd_ioas.mutex -> iommufd_group.lock
 *     -> [iommufd_ctx.pin_growth_rwsem (filling a domain), or
 *     iommufd_ctx.ioas_pair_lock (two IOASes) ->] io_pagetable.iova_rwsem
 *     -> iommu_group.mutex -> the IOMMU driver's locks: attaching a group
 *     to a domain that mirrors an IOAS, or taking it off one, holds that
 *     IOAS's iova_rwsem for writing; when two IOASes are concerned, both,
 *     nested in ioas_pair_lock (see device.c). IOMMU_HWPT_ALLOC takes the
 *     IOAS's mutex and the group lock without attach_lock; a group lock
 *     holder may take the iova_rwsem of an IOAS whose mutex it does not
 *     hold (putting the group back on its page table).
 *   iommufd_ctx.groups_lock: taken alone
 *   iommufd_access.ioas_lock -> [iommufd_ctx.pin_growth_rwsem ->]
 *     io_pagetable.iova_rwsem (and on down)
 *   iommufd_hw_pagetable.devices_lock: leaf
 *   xarray locks (ctx->objects, iopt->access_list): leaves, held only to
 *	look up, reference or erase entries.
 *
 * pin_growth_rwsem is held for reading, once and outside any iova_rwsem,
 * by whatever may add a mapping or pin more memory for long: a map or a
 * copy (from before it reads its source), filling a domain, an access
 * pin. Two things pin without it, for a moment inside one hold of the
 * pages' mutex (an access read or write) or not at all (cutting an area
 * in two shares its pages). IOMMU_IOAS_CHANGE_PROCESS holds it for
 * writing, then takes the iova_rwsem of one IOAS after the other for
 * reading (and on down: iopt_pages.mutex, mmap_lock), so that it holds no
 * lock per IOAS, however many there are. Nothing waits for an access's
 * driver (its unmap callback, or a lock the driver holds around its pins)
 * with pin_growth_rwsem held: drivers pin under their own locks.
 *
 * Access unmap callbacks run with none of these held: an unmap marks the
 * areas it waits for (prevent_access), drops its locks, calls the accesses
 * of the IOAS and starts over.
 */
#ifndef __IOMMUFD_PRIVATE_H
#define __IOMMUFD_PRIVATE_H

#include <linux/fault-inject.h>
#include <linux/iommufd.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/refcount.h>
#include <linux/types.h>
#include <linux/xarray.h>
#include <linux/rwsem.h>
#include <linux/rbtree.h>
#include <linux/sched.h>
#include <linux/wait.h>

struct iommufd_object;
struct iommufd_access;
struct mock_dev;

/**
 * struct iommufd_ctx - one open file of /dev/iommu
 * @file: the file this context belongs to
 * @objects: every object of the context, by ID
 * @account_mode: how new mappings charge pinned memory, an
 *	iopt_pages_account_mode; changed only while @objects is empty
 * @destroy_wait: owners waiting for short-term references to go away
 * @groups_lock: protects @groups
 * @groups: the iommufd_groups of the bound devices, by IOMMU group ID
 * @vfio_ioas: the IOAS VFIO's group interface uses (IOMMU_VFIO_IOAS), if
 *	any; protected by the lock of @objects, see vfio_compat.c
 * @no_iommu_mode: a VFIO group without an IOMMU was given this context;
 *	it then never makes a compatibility IOAS. Set once, under the lock
 *	of @objects
 * @pin_growth_rwsem: held for reading while mappings are added or more
 *	memory is pinned, in any IOAS of the context; for writing by
 *	IOMMU_IOAS_CHANGE_PROCESS, which so sees the pins of every IOAS
 *	hold still (or drop)
 * @ioas_pair_lock: held by whoever holds the iova_rwsem of two IOASes at
 *	once (moving a group between their page tables), which lockdep sees
 *	nested in it
 * @nr_ioas: how many IOASes exist, for debugfs
 * @debugfs_item: on the list of debugfs "iommufd/contexts", see debugfs.c
 * @opener_tgid: the process that created the context, for that list
 * @opener_comm: its name then
 */
struct iommufd_ctx {
	struct file *file;
	struct xarray objects;
	u8 account_mode;
	wait_queue_head_t destroy_wait;
	/* Protects groups. */
	struct mutex groups_lock;
	struct xarray groups;
	struct iommufd_ioas *vfio_ioas;
	bool no_iommu_mode;
	struct rw_semaphore pin_growth_rwsem;
	/* Nests two iova_rwsems, see above. */
	struct mutex ioas_pair_lock;
	atomic_t nr_ioas;
	struct list_head debugfs_item;
	pid_t opener_tgid;
	char opener_comm[TASK_COMM_LEN];
};

struct iommufd_ctx *iommufd_ctx_create(void);
void iommufd_ctx_destroy(struct iommufd_ctx *ictx);

/* debugfs "iommufd", where debugfs.c and selftest.c put their files. */
extern struct dentry *iommufd_debugfs_dir;

#ifdef CONFIG_IOMMUFD_DEBUGFS
void iommufd_debugfs_init(struct dentry *dir);
void iommufd_debugfs_add_ctx(struct iommufd_ctx *ictx);
void iommufd_debugfs_remove_ctx(struct iommufd_ctx *ictx);
#else
static inline void iommufd_debugfs_init(struct dentry *dir)
{
}

static inline void iommufd_debugfs_add_ctx(struct iommufd_ctx *ictx)
{
}

static inline void iommufd_debugfs_remove_ctx(struct iommufd_ctx *ictx)
{
}
#endif

/**
 * struct iommufd_ucmd - one ioctl call being executed
 * @ictx: the context the ioctl was issued on
 * @ubuffer: the user's structure
 * @user_size: the size userspace gave in the structure's first __u32
 * @cmd: the kernel copy of the structure, zero-extended to the kernel's size
 */
struct iommufd_ucmd {
	struct iommufd_ctx *ictx;
	void __user *ubuffer;
	u32 user_size;
	void *cmd;
};

int iommufd_ucmd_respond(struct iommufd_ucmd *ucmd, size_t cmd_len);

/**
 * struct io_pagetable - the IOVA space of an IOAS
 * @iova_rwsem: protects everything below. Whatever changes the areas or
 *	the domains holds it for writing, for the whole change, pinning and
 *	mapping included: a map, an unmap, adding or removing a domain.
 * @domains: the iommu_domains every area is mapped into
 * @ndomains: how many
 * @area_itree: the mapped ranges (struct iopt_area)
 * @allowed_itree: the ranges automatic IOVAs come from, if not empty
 * @reserved_itree: the ranges nothing may be mapped at
 * @iova_alignment: the alignment every mapping must have
 * @disable_large_pages: IOMMU_OPTION_HUGE_PAGES is off: map CPU pages only
 * @cut_anywhere: VFIO_TYPE1_IOMMU: a mapping may be cut at any CPU page,
 *	large IO pages or not (see iopt_cut_iova())
 * @access_list: the accesses attached to the IOAS, changed under
 *	@iova_rwsem held for writing; the xarray lock protects walks
 * @pin_growth_rwsem: the context's, see struct iommufd_ctx; NULL for a
 *	table that never maps (KUnit's)
 * @windows: the iopt_pages that later maps of user memory may join, one
 *	per window of the address space and writability, each with a
 *	reference (see iopt_map_user_window()); changed under @iova_rwsem
 *	held for writing
 * @nwindows: how many @windows holds
 *
 * See io_pagetable.c and io_pagetable.h.
 */
struct io_pagetable {
	struct rw_semaphore iova_rwsem;
	struct iommu_domain **domains;
	unsigned int ndomains;
	struct rb_root_cached area_itree;
	struct rb_root_cached allowed_itree;
	struct rb_root_cached reserved_itree;
	unsigned long iova_alignment;
	bool disable_large_pages;
	bool cut_anywhere;
	struct xarray access_list;
	struct rw_semaphore *pin_growth_rwsem;
	struct xarray windows;
	unsigned int nwindows;
};

void iopt_init_table(struct io_pagetable *iopt,
		     struct rw_semaphore *pin_growth_rwsem);
void iopt_forget_windows(struct io_pagetable *iopt);

/*
 * Around anything that may add a mapping to @iopt or pin more of the
 * memory its mappings reach; outside its iova_rwsem.
 */
static inline void iopt_pin_growth_begin(struct io_pagetable *iopt)
{
	down_read(iopt->pin_growth_rwsem);
}

static inline void iopt_pin_growth_end(struct io_pagetable *iopt)
{
	up_read(iopt->pin_growth_rwsem);
}

void iopt_destroy_table(struct io_pagetable *iopt);
int iopt_alloc_iova(struct io_pagetable *iopt, unsigned long *iova,
		    unsigned long uptr, unsigned long length);
int iopt_map_user_pages(struct iommufd_ctx *ictx, struct io_pagetable *iopt,
			unsigned long *iova, void __user *uptr,
			unsigned long length, int iommu_prot, bool alloc_iova);
int iopt_map_file_pages(struct iommufd_ctx *ictx, struct io_pagetable *iopt,
			unsigned long *iova, struct file *file, u64 start,
			unsigned long length, int iommu_prot, bool alloc_iova);
int iopt_copy_iova(struct io_pagetable *dst, struct io_pagetable *src,
		   unsigned long src_iova, unsigned long length,
		   unsigned long *dst_iova, int iommu_prot, bool alloc_iova);
int iopt_unmap_iova(struct io_pagetable *iopt, unsigned long iova,
		    unsigned long length, unsigned long *unmapped);
int iopt_unmap_all(struct io_pagetable *iopt, unsigned long *unmapped);
void iopt_set_cut_anywhere(struct io_pagetable *iopt);
int iopt_cut_iova(struct io_pagetable *iopt, unsigned long first,
		  unsigned long last);
int iopt_list_file_pages(struct io_pagetable *iopt, struct list_head *list,
			 unsigned long *user_pages, unsigned long *mm_pages);
int iopt_set_allow_iova(struct io_pagetable *iopt,
			struct rb_root_cached *allowed);
int iopt_reserve_iova(struct io_pagetable *iopt, unsigned long start,
		      unsigned long last, void *owner);
void iopt_remove_reserved_iova(struct io_pagetable *iopt, void *owner);
int iopt_reserve_dev_regions(struct io_pagetable *iopt, struct device *dev,
			     void *owner);
int iopt_set_large_pages(struct io_pagetable *iopt, bool enable);
int iopt_table_add_domain(struct io_pagetable *iopt,
			  struct iommu_domain *domain);
int iopt_table_narrow_aperture(struct io_pagetable *iopt,
			       struct iommu_domain *domain,
			       unsigned long *start, unsigned long *last);
void iopt_table_remove_domain(struct io_pagetable *iopt,
			      struct iommu_domain *domain);
int iopt_read_and_clear_dirty(struct io_pagetable *iopt,
			      struct iommu_domain *domain, unsigned long flags,
			      unsigned long iova, unsigned long length,
			      unsigned long page_size, u64 __user *data);
int iopt_set_dirty_tracking(struct io_pagetable *iopt,
			    struct iommu_domain *domain, bool enable);
bool iopt_next_pinned_span(struct io_pagetable *iopt, unsigned long iova,
			   unsigned long *first, unsigned long *last);
int iopt_add_access(struct io_pagetable *iopt, struct iommufd_access *access);
void iopt_remove_access(struct io_pagetable *iopt,
			struct iommufd_access *access, u32 access_list_id);

enum iommufd_object_type {
	IOMMUFD_OBJ_NONE,
	IOMMUFD_OBJ_ANY = IOMMUFD_OBJ_NONE,
	IOMMUFD_OBJ_IOAS,
	IOMMUFD_OBJ_HW_PAGETABLE,
	IOMMUFD_OBJ_DEVICE,
	IOMMUFD_OBJ_ACCESS,
#ifdef CONFIG_IOMMUFD_TEST
	IOMMUFD_OBJ_SELFTEST,
#endif
	IOMMUFD_OBJ_MAX,
};

/**
 * struct iommufd_object - what every object of a context begins with
 * @users: references: one for the ID table plus one per holder
 * @type: which iommufd_object_type the object is
 * @id: the object's ID in the context
 * @rcu: frees the object after the lookups that may still see it
 */
struct iommufd_object {
	refcount_t users;
	enum iommufd_object_type type;
	unsigned int id;
	struct rcu_head rcu;
};

struct iommufd_object *_iommufd_object_alloc(struct iommufd_ctx *ictx,
					     size_t size,
					     enum iommufd_object_type type);
void iommufd_object_finalize(struct iommufd_ctx *ictx,
			     struct iommufd_object *obj);
void iommufd_object_abort(struct iommufd_ctx *ictx, struct iommufd_object *obj);
void iommufd_object_abort_and_destroy(struct iommufd_ctx *ictx,
				      struct iommufd_object *obj);
int iommufd_object_destroy_user(struct iommufd_ctx *ictx, u32 id);
void iommufd_object_destroy_owned(struct iommufd_ctx *ictx,
				  struct iommufd_object *obj);
struct iommufd_object *iommufd_get_object(struct iommufd_ctx *ictx, u32 id,
					  enum iommufd_object_type type);

/*
 * Drop a reference taken by iommufd_get_object(); never the last one. An
 * owner may be waiting for it in iommufd_object_destroy_owned().
 */
static inline void iommufd_put_object(struct iommufd_ctx *ictx,
				      struct iommufd_object *obj)
{
	refcount_dec(&obj->users);
	if (wq_has_sleeper(&ictx->destroy_wait))
		wake_up_all(&ictx->destroy_wait);
}

/*
 * Allocate a zeroed object of the type of *ptr, whose first member must be
 * "struct iommufd_object obj", with its ID reserved but not yet visible.
 * Returns the object or an ERR_PTR: obj being first, the cast keeps both.
 */
#define iommufd_object_alloc(ictx, ptr, type)                                  \
	((typeof(ptr))_iommufd_object_alloc(                                   \
		ictx,                                                          \
		sizeof(*(typeof(ptr))NULL) +                                   \
			BUILD_BUG_ON_ZERO(offsetof(typeof(*(typeof(ptr))NULL), \
						   obj)),                      \
		type))

/*
 * The IO address space: IOVA ranges mapped to user memory, which may be
 * shared by several hardware page tables. @mutex protects @hwpt_list, the
 * page tables built from it, and serializes attaching devices to it.
 */
struct iommufd_ioas {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct io_pagetable iopt;
	/* Protects hwpt_list; serializes attaching devices to this IOAS. */
	struct mutex mutex;
	struct list_head hwpt_list;
};

static inline struct iommufd_ioas *iommufd_get_ioas(struct iommufd_ctx *ictx,
						    u32 id)
{
	struct iommufd_object *obj = iommufd_get_object(ictx, id,
							IOMMUFD_OBJ_IOAS);

	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct iommufd_ioas, obj);
}

struct iommufd_ioas *iommufd_ioas_alloc(struct iommufd_ctx *ictx);
int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *ucmd);
void iommufd_ioas_destroy(struct iommufd_object *obj);
int iommufd_ioas_iova_ranges(struct iommufd_ucmd *ucmd);
int iommufd_ioas_allow_iovas(struct iommufd_ucmd *ucmd);
int iommufd_ioas_map(struct iommufd_ucmd *ucmd);
int iommufd_ioas_map_file(struct iommufd_ucmd *ucmd);
int iommufd_ioas_copy(struct iommufd_ucmd *ucmd);
int iommufd_ioas_unmap(struct iommufd_ucmd *ucmd);
int iommufd_ioas_option(struct iommufd_ucmd *ucmd);
int iommufd_ioas_change_process(struct iommufd_ucmd *ucmd);
int iommufd_option_rlimit_mode(struct iommufd_ucmd *ucmd);

/**
 * struct iommufd_hw_pagetable - an iommu_domain kept identical to an IOAS
 * @obj: the object
 * @ioas: the IOAS it mirrors; the page table holds a reference on it
 * @domain: the domain; its driver finishes it at its first attach, before
 *	it is filled (see iommufd_hw_pagetable_fill())
 * @auto_domain: the kernel made it for an attach to an IOAS; it goes away
 *	with its last device, and attaches by IOAS ID may share it
 * @dying: an auto_domain page table whose last device left: off the IOAS's
 *	list, no device may attach to it any more
 * @filled: @domain mirrors the IOAS (it is one of the IOAS's domains);
 *	false only while it is being made
 * @enforce_cache_coherency: the IOMMU makes all DMA through it snoop CPU
 *	caches (IOMMU_CACHE cannot be bypassed): decided for the device it is
 *	made for, enforced when it is filled, before anything is mapped
 * @msi_cookie: @domain has an MSI cookie at @sw_msi_start, so that MSI
 *	doorbells get mapped there for devices that need it
 * @msi_reserved: that window is reserved in the IOAS, for as long as the
 *	page table mirrors it
 * @sw_msi_start: see @msi_cookie
 * @sw_msi_length: see @msi_cookie
 * @aperture_start: the first IOVA the IOAS lets @domain translate: the
 *	intersection of every aperture its driver gave it while filled
 * @aperture_last: the last one
 * @domain_stuck: a group could be moved neither back off @domain nor to
 *	blocking DMA (see iommufd_group_restore()): the domain stays
 *	allocated, emptied, when the page table goes, even if a later attach
 *	moved the group off it after all
 * @hwpt_item: on the IOAS's hwpt_list (under the IOAS's mutex)
 * @devices_lock: protects @devices
 * @devices: the attached iommufd_devices
 *
 * Everything but @devices changes under the IOAS's mutex, and the group
 * lock of the device that attaches; attaching a group to @domain while it
 * is filled also takes the IOAS's iova_rwsem, see device.c.
 */
struct iommufd_hw_pagetable {
	struct iommufd_object obj;
	struct iommufd_ioas *ioas;
	struct iommu_domain *domain;
	bool auto_domain;
	bool dying;
	bool filled;
	bool enforce_cache_coherency;
	bool msi_cookie;
	bool msi_reserved;
	bool domain_stuck;
	phys_addr_t sw_msi_start;
	size_t sw_msi_length;
	unsigned long aperture_start;
	unsigned long aperture_last;
	struct list_head hwpt_item;
	/* Protects devices. */
	struct mutex devices_lock;
	struct list_head devices;
};

struct iommufd_hw_pagetable *
iommufd_hw_pagetable_alloc(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			   struct iommufd_device *idev, u32 flags);
int iommufd_hw_pagetable_fill(struct iommufd_hw_pagetable *hwpt,
			      struct iommufd_device *idev);
int iommufd_hw_pagetable_msi_cookie(struct iommufd_hw_pagetable *hwpt,
				    struct iommufd_device *idev);
int iommufd_hw_pagetable_reserve_msi(struct iommufd_hw_pagetable *hwpt);
void iommufd_hw_pagetable_destroy(struct iommufd_object *obj);
int iommufd_hwpt_alloc(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_set_dirty_tracking(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_get_dirty_bitmap(struct iommufd_ucmd *ucmd);

/**
 * struct iommufd_group - an IOMMU group with devices bound to a context
 * @ref: one reference per device of the group being bound or bound
 * @ictx: the context; its groups_lock protects the lookup by group ID and
 *	@owners
 * @owners: how many devices of the group hold the group's DMA ownership
 *	for the context: the context owns the group only while this is not 0
 *	(a bind takes a reference before it tries to claim the group)
 * @group: the IOMMU group
 * @lock: protects @hwpt and @attached
 * @hwpt: the page table the group is attached to, or NULL
 * @attached: how many devices of the group are attached, all to @hwpt
 */
struct iommufd_group {
	struct kref ref;
	struct iommufd_ctx *ictx;
	unsigned int owners;
	struct iommu_group *group;
	/* Protects hwpt and attached. */
	struct mutex lock;
	struct iommufd_hw_pagetable *hwpt;
	unsigned int attached;
};

int iommufd_group_restore(struct iommufd_group *igroup,
			  struct iommufd_hw_pagetable *from,
			  struct device *dev);

/**
 * struct iommufd_device - a device bound to a context, see device.c
 * @obj: the object; the driver that bound it holds a reference
 * @ictx: the context
 * @attach_lock: serializes attach, replace and detach; protects @hwpt
 * @hwpt: the page table the device is attached to, or NULL
 * @devices_item: on @hwpt's list of devices
 * @dev: the device
 * @igroup: the device's group in the context
 * @enforce_cache_coherency: the device's IOMMU can make its DMA snoop CPU
 *	caches (IOMMU_CAP_ENFORCE_CACHE_COHERENCY), so every page table it
 *	is attached to does
 * @sw_msi_start: the start of the device's software-managed MSI window
 *	(IOMMU_RESV_SW_MSI), PHYS_ADDR_MAX if it has none
 * @sw_msi_length: its length
 */
struct iommufd_device {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	/* Protects hwpt: serializes attach, replace and detach. */
	struct mutex attach_lock;
	struct iommufd_hw_pagetable *hwpt;
	struct list_head devices_item;
	struct device *dev;
	struct iommufd_group *igroup;
	bool enforce_cache_coherency;
	phys_addr_t sw_msi_start;
	size_t sw_msi_length;
};

static inline struct iommufd_device *
iommufd_get_device(struct iommufd_ctx *ictx, u32 id)
{
	struct iommufd_object *obj = iommufd_get_object(ictx, id,
							IOMMUFD_OBJ_DEVICE);

	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct iommufd_device, obj);
}

void iommufd_device_destroy(struct iommufd_object *obj);
int iommufd_device_fill_hwpt(struct iommufd_device *idev,
			     struct iommufd_hw_pagetable *hwpt);
int iommufd_get_hw_info(struct iommufd_ucmd *ucmd);
int iommufd_vfio_ioas(struct iommufd_ucmd *ucmd);
long iommufd_vfio_ioctl(struct iommufd_ctx *ictx, unsigned int cmd,
			unsigned long arg);

/**
 * struct iommufd_access - a driver's window into an IOAS without a domain
 * @obj: the object; the driver holds a reference until it destroys it
 * @ictx: the context, whose file the access keeps open
 * @ops: the driver's callbacks
 * @data: the driver's argument to @ops
 * @iova_alignment: PAGE_SIZE if the driver pins pages, else 1
 * @ioas_lock: protects @ioas, @ioas_unpin and @access_list_id
 * @ioas: the IOAS new pins and copies go to; NULL while detached or while
 *	moving to another IOAS
 * @ioas_unpin: the IOAS unpins go to: that of the pages pinned so far
 * @access_list_id: the index of the access in @ioas_unpin's access_list
 */
struct iommufd_access {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	const struct iommufd_access_ops *ops;
	void *data;
	unsigned long iova_alignment;
	/* Protects ioas, ioas_unpin and access_list_id. */
	struct mutex ioas_lock;
	struct iommufd_ioas *ioas;
	struct iommufd_ioas *ioas_unpin;
	u32 access_list_id;
};

void iommufd_access_destroy_object(struct iommufd_object *obj);
void iommufd_access_notify_unmap(struct io_pagetable *iopt, unsigned long iova,
				 unsigned long length);

#ifdef CONFIG_IOMMUFD_TEST
/*
 * Test-only object: a second object type for tests, which may hold a
 * long-term reference on another object, released when it is destroyed.
 */
struct iommufd_selftest_object {
	struct iommufd_object obj;
	struct iommufd_object *held;
	struct mock_dev *mdev;
	struct iommufd_device *idev;
};

/*
 * Budget in bytes for the temporary buffers of one operation (such as a
 * batch of PFNs); tests shrink it to reach batch boundaries quickly.
 */
extern size_t iommufd_test_memory_limit;

void iommufd_selftest_destroy(struct iommufd_object *obj);
struct seq_file;
void iommufd_test_show_domain(struct seq_file *m, struct iommu_domain *domain);
bool iommufd_test_device_pasid_log2(struct device *dev, u8 *log2);
struct iommu_domain *iommufd_test_mock_domain_alloc(void);
unsigned long iommufd_test_mock_domain_count(struct iommu_domain *domain,
					     unsigned long *map_calls);
int iommufd_test(struct iommufd_ucmd *ucmd);
struct device *iommufd_test_mock_device_create(struct device *group_with);
struct iommu_domain *iommufd_test_mock_device_domain(struct device *dev);
void iommufd_test_mock_device_destroy(struct device *dev);
extern struct fault_attr fail_iommufd;

/*
 * Asked on every pin, so the common answer is given inline: with no
 * fail-nth count on the task and a zero probability, should_fail() says no
 * before it looks at anything else.
 */
static inline bool iommufd_should_fail(void)
{
	if (!(in_task() && READ_ONCE(current->fail_nth)) &&
	    !READ_ONCE(fail_iommufd.probability))
		return false;
	return should_fail(&fail_iommufd, 1);
}

int iommufd_test_init(void);
void iommufd_test_exit(void);
#else
static inline bool iommufd_should_fail(void)
{
	return false;
}

static inline void iommufd_test_show_domain(struct seq_file *m,
					    struct iommu_domain *domain)
{
}

static inline bool iommufd_test_device_pasid_log2(struct device *dev,
						  u8 *log2)
{
	return false;
}

static inline int iommufd_test_init(void)
{
	return 0;
}

static inline void iommufd_test_exit(void)
{
}
#endif

#endif
