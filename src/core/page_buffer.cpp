#include "uma/core/page_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "uma/core/error.h"

namespace uma {
namespace {

constexpr size_t kHugePage = size_t(2) << 20;

#if defined(__linux__) && !defined(MADV_COLLAPSE)
constexpr int MADV_COLLAPSE = 25;  // Linux 6.1; older C library headers lack the name
#endif

}  // namespace

PageBuffer::PageBuffer(size_t bytes, const std::string& purpose) : size_(bytes) {
    if (bytes == 0) return;
    // Mapped a huge page larger than asked, then trimmed to start on a huge-page boundary.
    const size_t slack = bytes >= kHugePage ? kHugePage : 0;
    void* p =
        ::mmap(nullptr, bytes + slack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        throw Error("cannot allocate " + std::to_string((bytes + (1 << 20) - 1) >> 20) +
                    " MiB for " + purpose);
    auto* mapped = static_cast<uint8_t*>(p);
    uint8_t* start = mapped;
    if (slack > 0) {
        const auto address = reinterpret_cast<uintptr_t>(mapped);
        start = mapped + ((kHugePage - address % kHugePage) % kHugePage);
        if (start > mapped) ::munmap(mapped, static_cast<size_t>(start - mapped));
        // The mapping ends on a page, so the tail goes from the page after the buffer's end.
        const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
        uint8_t* const end = start + (bytes + page - 1) / page * page;
        if (end < mapped + bytes + slack)
            ::munmap(end, static_cast<size_t>(mapped + bytes + slack - end));
    }
#if defined(MADV_HUGEPAGE)
    ::madvise(start, bytes, MADV_HUGEPAGE);
#endif
    data_ = start;
}

void PageBuffer::collapse_to_huge_pages(size_t offset, size_t bytes) const {
#if defined(__linux__)
    if (data_ == nullptr || bytes == 0 || offset >= size_) return;
    // Out to whole huge pages at the start, which hold what was written before; not at the end,
    // whose huge page the next writer's call takes in (collapsing it now would commit zeros).
    const size_t first = offset / kHugePage * kHugePage;
    const size_t last = std::min(size_, offset + bytes) / kHugePage * kHugePage;
    if (last > first) ::madvise(data_ + first, last - first, MADV_COLLAPSE);
#else
    (void)offset;
    (void)bytes;
#endif
}

PageBuffer::~PageBuffer() {
    if (data_ != nullptr) ::munmap(data_, size_);
}

PageBuffer::PageBuffer(PageBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

PageBuffer& PageBuffer::operator=(PageBuffer&& other) noexcept {
    if (this != &other) {
        if (data_ != nullptr) ::munmap(data_, size_);
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
    }
    return *this;
}

}  // namespace uma
