/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The IOVA machinery shared by io_pagetable.c and pages.c.
 *
 * An io_pagetable maps IOVA ranges ("areas") to slices of user memory
 * ("pages"). One iopt_pages describes a range of a process's address
 * space or of a file: the range one IOMMU_IOAS_MAP gave, or an aligned
 * window of the address space that small maps near each other share (see
 * iopt_map_user_window()). IOMMU_IOAS_COPY makes further areas, possibly in
 * other IOASes, that share it.
 *
 * A page of an iopt_pages is pinned, exactly once, while anything needs it:
 *  - an area covering it is "filled": mapped into every domain of its
 *    io_pagetable (then the area sits in pages->domains_itree), or
 *  - an access has pinned it (then its PFN sits in pages->pinned_pfns).
 * With neither, an area is bookkeeping only and nothing is pinned. The
 * domains themselves hold the PFNs of filled areas, so nothing else has to
 * remember them; they are read back from a domain when needed.
 */
#ifndef __IO_PAGETABLE_H
#define __IO_PAGETABLE_H

#include <linux/fs.h>
#include <linux/interval_tree.h>
#include <linux/iommu.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/xarray.h>

#include "iommufd_private.h"

struct iopt_pages;

/**
 * struct iopt_area - one IOVA range mapped to a slice of an iopt_pages
 * @node: the IOVA range, in iopt->area_itree
 * @pages_rb: in pages->domains_itree while the area is filled, by the page
 *	indexes of the slice: from @pages_index to iopt_area_last_index(),
 *	which the IOVA range gives (a filled area's IOVA range only changes
 *	out of the tree)
 * @pages_index: the index of the slice's first page
 * @pages_subtree_last: the interval tree's augmentation
 * @pages: the user memory; NULL while the area is being torn down
 * @storage_domain: a domain holding the area's PFNs while filled; changed
 *	under pages->mutex
 * @first_pfn: while filled, the PFN of the area's first page, which cannot
 *	be read back at byte 0 of its IOVA when the area starts inside it
 * @page_offset: offset of the first IOVA within its page
 * @iommu_prot: the IOMMU_READ / IOMMU_WRITE / IOMMU_CACHE of every map
 * @prevent_access: how many unmaps are waiting for accesses to let go of
 *	the area, up to U8_MAX (under iova_rwsem): while any is, no new pin
 * @num_accesses: how many access pins hold the area (iova_rwsem + mutex)
 */
struct iopt_area {
	struct interval_tree_node node;
	struct rb_node pages_rb;
	unsigned long pages_index;
	unsigned long pages_subtree_last;
	struct iopt_pages *pages;
	struct iommu_domain *storage_domain;
	unsigned long first_pfn;
#if PAGE_SHIFT > 16
	unsigned int page_offset;
#else
	u16 page_offset;	/* packed with the next two */
#endif
	u8 iommu_prot;
	u8 prevent_access;
	unsigned int num_accesses;
};

/* How pinned pages are charged against RLIMIT_MEMLOCK. */
enum iopt_pages_account_mode {
	IOPT_PAGES_ACCOUNT_NONE,	/* CAP_IPC_LOCK: not charged */
	IOPT_PAGES_ACCOUNT_USER,	/* user_struct::locked_vm */
	IOPT_PAGES_ACCOUNT_MM,		/* mm_struct::locked_vm, like VFIO type1 */
};

/* Where the memory of an iopt_pages comes from. */
enum iopt_pages_source {
	IOPT_PAGES_USER,	/* a range of a process's address space */
	IOPT_PAGES_FILE,	/* a range of a shmem or hugetlbfs file */
};

/**
 * struct iopt_pages - a range of memory that areas map
 * @kref: one reference per area using it, one while it is in an
 *	io_pagetable's windows, plus temporary ones
 * @mutex: protects everything below that changes
 * @npages: how many pages the range spans
 * @npinned: how many are pinned now
 * @source_task: the task whose RLIMIT_MEMLOCK applies; NULL when not charged
 * @source_mm: the mm charged for pins (pinned_vm, and locked_vm in
 *	IOPT_PAGES_ACCOUNT_MM mode); for user memory, the address space of
 *	@uptr
 * @source_user: the user charged in IOPT_PAGES_ACCOUNT_USER mode, or NULL
 * @uptr: IOPT_PAGES_USER: the page-aligned start of the range
 * @file: IOPT_PAGES_FILE: the file, whose reference the pages hold
 * @file_start: IOPT_PAGES_FILE: the page-aligned file offset of page 0
 * @source: an iopt_pages_source
 * @writable: the memory may be mapped for device writes; a file's mapping
 *	then counts as writably mapped (see mapping_map_writable())
 * @account_mode: an iopt_pages_account_mode
 * @copied: IOMMU_IOAS_COPY made an area of it, maybe in an IOAS whose
 *	areas are not filled: no other map may join it (see
 *	iopt_map_user_window()). Set under the source table's iova_rwsem,
 *	read under that of the table whose window it is, for writing
 * @pinned_pfns: PFNs of the pages accesses have pinned, by page index
 * @access_itree: the iopt_pages_access ranges
 * @domains_itree: the filled areas, by page index
 * @move_item: on the list of IOMMU_IOAS_CHANGE_PROCESS while it moves the
 *	pages to another process; empty otherwise
 * @move_npinned: while on that list, how many pins the caller was charged
 *	for; fewer may be left to move (see iopt_pages_move_to_current())
 */
struct iopt_pages {
	struct kref kref;
	/* Fill the kref's padding: many maps still make one each. */
	u8 source;
	bool writable;
	u8 account_mode;
	bool copied;
	/* Protects the pinned state: npinned, the xarray and both trees. */
	struct mutex mutex;
	size_t npages;
	size_t npinned;
	struct task_struct *source_task;
	struct mm_struct *source_mm;
	struct user_struct *source_user;
	union {
		void __user *uptr;
		struct {
			struct file *file;
			loff_t file_start;
		};
	};
	struct xarray pinned_pfns;
	struct rb_root_cached access_itree;
	struct rb_root_cached domains_itree;
	struct list_head move_item;
	size_t move_npinned;
};

static inline unsigned long iopt_area_index(struct iopt_area *area)
{
	return area->pages_index;
}

static inline unsigned long iopt_area_iova(struct iopt_area *area)
{
	return area->node.start;
}

static inline unsigned long iopt_area_last_iova(struct iopt_area *area)
{
	return area->node.last;
}

static inline size_t iopt_area_length(struct iopt_area *area)
{
	return area->node.last - area->node.start + 1;
}

/*
 * The index of the slice's last page, computed rather than stored: eight
 * bytes less for every mapping.
 */
static inline unsigned long iopt_area_last_index(struct iopt_area *area)
{
	return area->pages_index +
	       (area->page_offset + iopt_area_length(area) - 1) / PAGE_SIZE;
}

void iopt_filled_area_insert(struct iopt_area *area,
			     struct rb_root_cached *root);
void iopt_filled_area_remove(struct iopt_area *area,
			     struct rb_root_cached *root);
struct iopt_area *iopt_filled_area_iter_first(struct rb_root_cached *root,
					      unsigned long start,
					      unsigned long last);
struct iopt_area *iopt_filled_area_iter_next(struct iopt_area *area,
					     unsigned long start,
					     unsigned long last);

/* The IOVA of the first byte the area maps from page @index. */
static inline unsigned long iopt_area_index_to_iova(struct iopt_area *area,
						    unsigned long index)
{
	if (index == iopt_area_index(area))
		return iopt_area_iova(area);
	return iopt_area_iova(area) - area->page_offset +
	       (index - iopt_area_index(area)) * PAGE_SIZE;
}

/* The IOVA of the last byte the area maps from page @index. */
static inline unsigned long
iopt_area_index_to_last_iova(struct iopt_area *area, unsigned long index)
{
	if (index == iopt_area_last_index(area))
		return iopt_area_last_iova(area);
	return iopt_area_iova(area) - area->page_offset +
	       (index - iopt_area_index(area) + 1) * PAGE_SIZE - 1;
}

/* The page index that IOVA @iova of the area comes from. */
static inline unsigned long iopt_area_iova_to_index(struct iopt_area *area,
						    unsigned long iova)
{
	return iopt_area_index(area) +
	       (iova - iopt_area_iova(area) + area->page_offset) / PAGE_SIZE;
}

/* The byte of the iopt_pages that IOVA @iova of the area maps. */
static inline unsigned long iopt_area_start_byte(struct iopt_area *area,
						 unsigned long iova)
{
	return iopt_area_index(area) * PAGE_SIZE + area->page_offset +
	       (iova - iopt_area_iova(area));
}

/* A range userspace allowed for automatically chosen IOVAs. */
struct iopt_allowed {
	struct interval_tree_node node;
};

/* A range that must stay unmapped; @owner removes it. */
struct iopt_reserved {
	struct interval_tree_node node;
	void *owner;
};

#define __make_iopt_iter(name)                                                 \
	static inline struct iopt_##name *iopt_##name##_iter_first(            \
		struct io_pagetable *iopt, unsigned long start,                \
		unsigned long last)                                            \
	{                                                                      \
		struct interval_tree_node *node;                               \
									       \
		lockdep_assert_held(&iopt->iova_rwsem);                        \
		node = interval_tree_iter_first(&iopt->name##_itree, start,    \
						last);                         \
		if (!node)                                                     \
			return NULL;                                           \
		return container_of(node, struct iopt_##name, node);           \
	}                                                                      \
	static inline struct iopt_##name *iopt_##name##_iter_next(             \
		struct iopt_##name *last_node, unsigned long start,            \
		unsigned long last)                                            \
	{                                                                      \
		struct interval_tree_node *node;                               \
									       \
		node = interval_tree_iter_next(&last_node->node, start, last); \
		if (!node)                                                     \
			return NULL;                                           \
		return container_of(node, struct iopt_##name, node);           \
	}

__make_iopt_iter(area)
__make_iopt_iter(allowed)
__make_iopt_iter(reserved)

/*
 * A walk over the areas that cover [first, last] with no gap between them,
 * one piece per area: [cur_iova, iopt_area_walk_piece_last()]:
 *
 *	for (area = iopt_area_walk_first(&walk, iopt, first, last); area;
 *	     area = iopt_area_walk_next(&walk))
 *
 * After the loop, @done tells whether the pieces reached @last; if not, a
 * gap (or the end of the mappings) stopped the walk. The caller holds
 * iova_rwsem.
 */
struct iopt_area_walk {
	struct io_pagetable *iopt;
	struct iopt_area *area;
	unsigned long cur_iova;
	unsigned long last_iova;
	bool done;
};

static inline struct iopt_area *iopt_area_walk_find(struct iopt_area_walk *walk)
{
	walk->area = iopt_area_iter_first(walk->iopt, walk->cur_iova,
					  walk->cur_iova);
	if (walk->area && !walk->area->pages)
		walk->area = NULL;
	return walk->area;
}

static inline struct iopt_area *
iopt_area_walk_first(struct iopt_area_walk *walk, struct io_pagetable *iopt,
		     unsigned long first, unsigned long last)
{
	walk->iopt = iopt;
	walk->cur_iova = first;
	walk->last_iova = last;
	walk->done = false;
	return iopt_area_walk_find(walk);
}

static inline unsigned long
iopt_area_walk_piece_last(struct iopt_area_walk *walk)
{
	return min(walk->last_iova, iopt_area_last_iova(walk->area));
}

static inline struct iopt_area *iopt_area_walk_next(struct iopt_area_walk *walk)
{
	if (iopt_area_last_iova(walk->area) >= walk->last_iova) {
		walk->done = true;
		return NULL;
	}
	walk->cur_iova = iopt_area_last_iova(walk->area) + 1;
	return iopt_area_walk_find(walk);
}

/*
 * A range of pages pinned for accesses; @users counts the identical pins
 * sharing it. Lives in pages->access_itree.
 */
struct iopt_pages_access {
	struct interval_tree_node node;
	unsigned int users;
};

/* Who uses the pages of a span, see iopt_pages_span(). */
enum iopt_pages_span_user {
	IOPT_SPAN_UNUSED,	/* nobody: not pinned unless the caller pinned it */
	IOPT_SPAN_ACCESS,	/* an access: the PFNs are in pinned_pfns */
	IOPT_SPAN_AREA,		/* a filled area: its storage domain maps them */
};

/**
 * struct iopt_pages_span - a run of page indexes with one kind of user
 * @last: the last page index of the span (it starts where it was asked for)
 * @user: an iopt_pages_span_user
 * @area: the filled area for IOPT_SPAN_AREA, else NULL
 */
struct iopt_pages_span {
	unsigned long last;
	enum iopt_pages_span_user user;
	struct iopt_area *area;
};

void iopt_pages_span(struct iopt_pages *pages, unsigned long index,
		     unsigned long last, struct iopt_area *skip,
		     struct iopt_pages_span *span);

int iopt_area_cache_create(void);
void iopt_area_cache_destroy(void);
int iopt_pages_cache_create(void);
void iopt_pages_cache_destroy(void);
/*
 * Whether devices may read the memory: a file's only if it was opened for
 * reading, which an IOMMU_IOAS_COPY of its mapping must not get around.
 */
static inline bool iopt_pages_readable(struct iopt_pages *pages)
{
	return pages->source != IOPT_PAGES_FILE ||
	       (pages->file->f_mode & FMODE_READ);
}

struct iopt_pages *iopt_alloc_user_pages(void __user *uptr,
					 unsigned long length, bool writable,
					 bool lock_cap);
struct iopt_pages *iopt_alloc_file_pages(struct file *file, u64 start,
					 unsigned long length, bool writable,
					 bool readable);

/*
 * Where page 0 of @pages starts, as an address or a file offset: the
 * alignment an IOVA for the memory is best given.
 */
static inline unsigned long iopt_pages_start(struct iopt_pages *pages)
{
	if (pages->source == IOPT_PAGES_FILE)
		return pages->file_start;
	return (unsigned long)pages->uptr;
}

void iopt_release_pages(struct kref *kref);
int iopt_charge_current(unsigned long user_pages, unsigned long mm_pages);
bool iopt_pages_charged_to_current(struct iopt_pages *pages);
void iopt_pages_move_to_current(struct iopt_pages *pages);
static inline void iopt_put_pages(struct iopt_pages *pages)
{
	kref_put(&pages->kref, iopt_release_pages);
}

int iopt_area_map_pfns(struct io_pagetable *iopt, struct iopt_area *area,
		       struct iommu_domain *domain, unsigned long index,
		       const unsigned long *pfns, unsigned long n);
void iopt_area_unmap_pfns(struct iopt_area *area, struct iommu_domain *domain,
			  unsigned long index, unsigned long n);
int iopt_area_fill_domains(struct io_pagetable *iopt, struct iopt_area *area,
			   struct iommu_domain **domains, unsigned int ndomains);
void iopt_area_unfill_domains(struct io_pagetable *iopt,
			      struct iopt_area *area,
			      struct iommu_domain **domains,
			      unsigned int ndomains);
int iopt_area_fill_domain(struct io_pagetable *iopt, struct iopt_area *area,
			  struct iommu_domain *domain);
void iopt_area_unmap_domain(struct iopt_area *area,
			    struct iommu_domain *domain);
int iopt_area_remap_for_cut(struct io_pagetable *iopt, struct iopt_area *area,
			    unsigned long cut);
int iopt_area_add_access(struct io_pagetable *iopt, struct iopt_area *area,
			 unsigned long index, unsigned long last_index,
			 struct page **out_pages, unsigned int flags);
void iopt_area_remove_access(struct iopt_area *area, unsigned long index,
			     unsigned long last_index);
int iopt_pages_rw(struct iopt_pages *pages, unsigned long start_byte,
		  void *data, unsigned long length, unsigned int flags);

#endif
