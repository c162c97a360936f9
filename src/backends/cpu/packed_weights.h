#pragma once
// Weight matrices rearranged into packed formats (packed_formats.h), made on first use and kept for
// the life of the backend. The original rows stay in the file mapping: rows past the last whole
// tile are still read there, and the pages of the packed rows are handed back to the page cache
// so that a packed model does not occupy its memory twice.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "backends/cpu/packed_formats.h"
#include "uma/backends/backend.h"
#include "uma/backends/cpu/thread_pool.h"
#include "uma/core/page_buffer.h"

namespace uma::cpu::detail {

// Anonymous memory handed out in pieces, in regions large enough to be backed by huge pages
// without rounding every small matrix up to one.
class PackedArena {
  public:
    PackedArena() = default;
    PackedArena(const PackedArena&) = delete;
    PackedArena& operator=(const PackedArena&) = delete;

    uint8_t* allocate(size_t bytes, const std::string& purpose);  // 64-byte aligned
    // PageBuffer::collapse_to_huge_pages for memory given out by allocate.
    void collapse_to_huge_pages(const uint8_t* begin, size_t bytes) const;

  private:
    std::vector<PageBuffer> regions_;
    size_t used_ = 0;  // in the last region
};

class PackedMatrix {
  public:
    // Packs the first rows / kTileRows * kTileRows rows of w (using the pool's threads).
    PackedMatrix(const Weight& w, const PackedFormat& format, PackedArena& arena, ThreadPool& pool);

    const PackedFormat& format() const { return format_; }
    int64_t tiles() const { return tiles_; }
    int64_t packed_rows() const { return tiles_ * kTileRows; }
    const uint8_t* tile(int64_t index) const { return data_ + size_t(index) * tile_bytes_; }

  private:
    const PackedFormat& format_;
    int64_t tiles_ = 0;
    size_t tile_bytes_ = 0;
    uint8_t* data_ = nullptr;
};

class PackedWeightCache {
  public:
    // The packed form of w, packing it now if this is its first use; nullptr when w's type has
    // no packed format at the active SIMD level, w has fewer rows than a tile, or its rows are
    // also looked up one by one (w.row_lookups).
    const PackedMatrix* find_or_pack(const Weight& w, ThreadPool& pool);

  private:
    struct Key {
        const uint8_t* data;
        int64_t rows, cols;
        GgmlType type;
        bool operator==(const Key&) const = default;
    };
    struct KeyHash {
        size_t operator()(const Key& k) const;
    };
    PackedArena arena_;  // declared first: outlives the matrices that point into it
    std::unordered_map<Key, std::unique_ptr<PackedMatrix>, KeyHash> packed_;
};

// Whether weights are packed at all: on unless UMA_PACK=0 (to compare with the in-place kernels).
bool packing_enabled();

}  // namespace uma::cpu::detail
