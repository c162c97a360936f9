#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace uma {

// Anonymous memory straight from the kernel, for large buffers that are streamed through (packed
// weights, the KV cache): its pages are zero and only take memory once touched, and they are
// asked to be huge pages, so that streaming them costs few TLB misses and the hardware
// prefetchers are not stopped at every 4 KiB page boundary. Move-only; unmapped on destruction.
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
    size_t size() const { return size_; }

  private:
    uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace uma
