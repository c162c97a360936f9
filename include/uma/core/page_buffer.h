#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace uma {

// Anonymous memory straight from the kernel, for large buffers that are streamed through (packed
// weights, the KV cache): its pages are zero and only take memory once touched, and they are
// asked to be huge pages, so that streaming them costs few TLB misses and the hardware
// prefetchers are not stopped at every 4 KiB page boundary; buffers of a huge page or more start on
// a huge-page boundary, so that all of their whole huge pages can be. Move-only; unmapped on
// destruction.
class PageBuffer {
  public:
    PageBuffer() = default;
    // `purpose` names the buffer in the error thrown when the memory cannot be had.
    PageBuffer(size_t bytes, const std::string& purpose);
    ~PageBuffer();
    PageBuffer(PageBuffer&& other) noexcept;
    PageBuffer& operator=(PageBuffer&& other) noexcept;
    PageBuffer(const PageBuffer&) = delete;
    PageBuffer& operator=(const PageBuffer&) = delete;

    uint8_t* data() const { return data_; }
    // Asks the kernel to put [offset, offset + bytes) into huge pages now: the whole huge pages
    // it overlaps, but for the one it ends in (left to the next range's call). Page faults take
    // small pages when free memory is short or fragmented (a page cache full of model files), and
    // streaming weights through small pages is markedly slower; this copies them into huge pages,
    // compacting memory if it must. Best effort: where the kernel has no transparent huge pages, or
    // cannot find one, the pages stay as they are.
    void collapse_to_huge_pages(size_t offset, size_t bytes) const;
    size_t size() const { return size_; }

  private:
    uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace uma
