// noggin/core/page_advice.hpp — hints to the operating system about memory the library reads in place.
//
//     noggin::advise_huge_pages(tensor_bytes, n);   // before the first read of mapped weights
//
// Sections: advise_huge_pages
//
// Decode streams every weight once per token. On 4 KiB pages that is one TLB miss (and, under a hypervisor,
// one two-level page walk) per 4 KiB and a hardware prefetcher that stops at every page boundary. Where
// the kernel can back a file mapping with 2 MiB folios (Linux with large-folio page cache, e.g. ext4 from
// 6.16, xfs; the mapping 2 MiB-aligned, which Linux does for large file mappings), MADV_HUGEPAGE makes page
// faults read the file into 2 MiB folios mapped by one PMD entry each. It changes nothing for pages already
// in the page cache in smaller folios (a file read earlier), costs nothing where unsupported, and the
// mapping's contents are unchanged. Define NOGGIN_NO_HUGE_PAGES to turn it off.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__linux__) && !defined(NOGGIN_NO_HUGE_PAGES)
#include <sys/mman.h>
#endif

namespace noggin {

// --- advise_huge_pages --------------------------------------------------------------------------------

// Ask for transparent huge pages on the whole 2 MiB pages inside [p, p + n) (the range is rounded inward:
// bytes sharing a 2 MiB page with something else are left alone). Returns the bytes advised: 0 where
// the OS has no such advice, the range holds no whole 2 MiB page, or madvise refused.
inline std::size_t advise_huge_pages(const void* p, std::size_t n) {
#if defined(__linux__) && !defined(NOGGIN_NO_HUGE_PAGES) && defined(MADV_HUGEPAGE)
    constexpr std::uintptr_t huge = std::uintptr_t{2} << 20;
    const std::uintptr_t a = reinterpret_cast<std::uintptr_t>(p);
    if (p == nullptr || n == 0 || a > UINTPTR_MAX - n) return 0;
    const std::uintptr_t begin = (a + huge - 1) & ~(huge - 1), end = (a + n) & ~(huge - 1);
    if (end <= begin) return 0;
    if (::madvise(reinterpret_cast<void*>(begin), static_cast<std::size_t>(end - begin), MADV_HUGEPAGE) != 0) return 0;
    return static_cast<std::size_t>(end - begin);
#else
    (void)p;
    (void)n;
    return 0;
#endif
}

}  // namespace noggin
