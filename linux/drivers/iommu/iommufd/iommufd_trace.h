/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tracepoints of iommufd, under events/iommufd/ in tracefs:
 *
 *   iommufd_map, iommufd_unmap	an IOAS gained or lost IOVA ranges, as
 *				userspace asked (IOMMU_IOAS_MAP, _MAP_FILE,
 *				_COPY, _UNMAP and their type1 twins)
 *   iommufd_pin, iommufd_unpin	pages of a mapping were pinned or unpinned
 *				and charged or uncharged, for a page table
 *				or for an access
 *   iommufd_attach, iommufd_detach
 *				a device started or stopped DMA through a
 *				page table (a replace is an attach that
 *				names the page table it left)
 *   iommufd_read_dirty	the dirty bits of an IOVA range were read
 *				into userspace's bitmap, one window of
 *				pinned bitmap pages at a time
 *
 * The pin events name the pages by a hashed pointer, the same in both,
 * so that a pin can be matched to its unpin.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM iommufd

#if !defined(_IOMMUFD_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _IOMMUFD_TRACE_H

#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/tracepoint.h>

/* Where the memory of a mapping came from. */
#define IOMMUFD_TRACE_MAP_USER 0
#define IOMMUFD_TRACE_MAP_FILE 1
#define IOMMUFD_TRACE_MAP_COPY 2

TRACE_EVENT(iommufd_map,
	    TP_PROTO(u32 ioas_id, unsigned long iova, unsigned long length,
		     int prot, int source),
	    TP_ARGS(ioas_id, iova, length, prot, source),
	    TP_STRUCT__entry(__field(u32, ioas_id)
			     __field(unsigned long, iova)
			     __field(unsigned long, length)
			     __field(int, prot)
			     __field(int, source)),
	    TP_fast_assign(__entry->ioas_id = ioas_id;
			   __entry->iova = iova;
			   __entry->length = length;
			   __entry->prot = prot;
			   __entry->source = source;),
	    TP_printk("ioas=%u iova=0x%lx length=0x%lx prot=%s%s source=%s",
		      __entry->ioas_id, __entry->iova, __entry->length,
		      __entry->prot & IOMMU_READ ? "r" : "",
		      __entry->prot & IOMMU_WRITE ? "w" : "",
		      __print_symbolic(__entry->source,
				       { IOMMUFD_TRACE_MAP_USER, "user" },
				       { IOMMUFD_TRACE_MAP_FILE, "file" },
				       { IOMMUFD_TRACE_MAP_COPY, "copy" }))
);

TRACE_EVENT(iommufd_unmap,
	    TP_PROTO(u32 ioas_id, unsigned long iova, unsigned long length,
		     unsigned long unmapped),
	    TP_ARGS(ioas_id, iova, length, unmapped),
	    TP_STRUCT__entry(__field(u32, ioas_id)
			     __field(unsigned long, iova)
			     __field(unsigned long, length)
			     __field(unsigned long, unmapped)),
	    TP_fast_assign(__entry->ioas_id = ioas_id;
			   __entry->iova = iova;
			   __entry->length = length;
			   __entry->unmapped = unmapped;),
	    TP_printk("ioas=%u iova=0x%lx length=0x%lx unmapped=0x%lx",
		      __entry->ioas_id, __entry->iova, __entry->length,
		      __entry->unmapped)
);

DECLARE_EVENT_CLASS(iommufd_pages_class,
		    TP_PROTO(const void *pages, unsigned long index,
			     unsigned long npages, unsigned long npinned),
		    TP_ARGS(pages, index, npages, npinned),
		    TP_STRUCT__entry(__field(const void *, pages)
				     __field(unsigned long, index)
				     __field(unsigned long, npages)
				     __field(unsigned long, npinned)),
		    TP_fast_assign(__entry->pages = pages;
				   __entry->index = index;
				   __entry->npages = npages;
				   __entry->npinned = npinned;),
		    TP_printk("pages=%p index=%lu npages=%lu npinned=%lu",
			      __entry->pages, __entry->index, __entry->npages,
			      __entry->npinned)
);

DEFINE_EVENT(iommufd_pages_class, iommufd_pin,
	     TP_PROTO(const void *pages, unsigned long index,
		      unsigned long npages, unsigned long npinned),
	     TP_ARGS(pages, index, npages, npinned)
);

DEFINE_EVENT(iommufd_pages_class, iommufd_unpin,
	     TP_PROTO(const void *pages, unsigned long index,
		      unsigned long npages, unsigned long npinned),
	     TP_ARGS(pages, index, npages, npinned)
);

DECLARE_EVENT_CLASS(iommufd_device_class,
		    TP_PROTO(struct device *dev, u32 dev_id, u32 hwpt_id,
			     u32 ioas_id, u32 old_hwpt_id),
		    TP_ARGS(dev, dev_id, hwpt_id, ioas_id, old_hwpt_id),
		    TP_STRUCT__entry(__string(dev, dev_name(dev))
				     __field(u32, dev_id)
				     __field(u32, hwpt_id)
				     __field(u32, ioas_id)
				     __field(u32, old_hwpt_id)),
		    TP_fast_assign(__assign_str(dev, dev_name(dev));
				   __entry->dev_id = dev_id;
				   __entry->hwpt_id = hwpt_id;
				   __entry->ioas_id = ioas_id;
				   __entry->old_hwpt_id = old_hwpt_id;),
		    TP_printk("dev=%s dev_id=%u hwpt=%u ioas=%u old_hwpt=%u",
			      __get_str(dev), __entry->dev_id,
			      __entry->hwpt_id, __entry->ioas_id,
			      __entry->old_hwpt_id)
);

DEFINE_EVENT(iommufd_device_class, iommufd_attach,
	     TP_PROTO(struct device *dev, u32 dev_id, u32 hwpt_id,
		      u32 ioas_id, u32 old_hwpt_id),
	     TP_ARGS(dev, dev_id, hwpt_id, ioas_id, old_hwpt_id)
);

DEFINE_EVENT(iommufd_device_class, iommufd_detach,
	     TP_PROTO(struct device *dev, u32 dev_id, u32 hwpt_id,
		      u32 ioas_id, u32 old_hwpt_id),
	     TP_ARGS(dev, dev_id, hwpt_id, ioas_id, old_hwpt_id)
);

TRACE_EVENT(iommufd_read_dirty,
	    TP_PROTO(unsigned long iova, unsigned long length,
		     unsigned long flags),
	    TP_ARGS(iova, length, flags),
	    TP_STRUCT__entry(__field(unsigned long, iova)
			     __field(unsigned long, length)
			     __field(unsigned long, flags)),
	    TP_fast_assign(__entry->iova = iova;
			   __entry->length = length;
			   __entry->flags = flags;),
	    TP_printk("iova=0x%lx length=0x%lx clear=%s",
		      __entry->iova, __entry->length,
		      __entry->flags & IOMMU_DIRTY_NO_CLEAR ? "no" : "yes")
);

#endif /* _IOMMUFD_TRACE_H */

/* Outside the guard: define_trace.h includes this file again. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE iommufd_trace
#include <trace/define_trace.h>
