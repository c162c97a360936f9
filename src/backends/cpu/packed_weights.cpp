#include "backends/cpu/packed_weights.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <functional>

#include "uma/core/error.h"

namespace uma::cpu::detail {
namespace {

constexpr size_t kHugePage = size_t(2) << 20;
constexpr size_t kRegionBytes = size_t(64) << 20;

size_t round_up(size_t n, size_t multiple) {
    return (n + multiple - 1) / multiple * multiple;
}

// Drops this process's mapping of the whole pages inside [begin, end); the file's pages stay in
// the page cache and come back on the next read.
void release_pages(const uint8_t* begin, const uint8_t* end) {
    const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const uintptr_t first = round_up(reinterpret_cast<uintptr_t>(begin), page);
    const uintptr_t last = reinterpret_cast<uintptr_t>(end) / page * page;
    if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

}  // namespace

bool packing_enabled() {
    const char* value = std::getenv("UMA_PACK");
    return value == nullptr || std::strcmp(value, "0") != 0;
}

uint8_t* PackedArena::allocate(size_t bytes, const std::string& purpose) {
    bytes = round_up(std::max<size_t>(bytes, 1), 64);
    if (regions_.empty() || used_ + bytes > regions_.back().size()) {
        regions_.emplace_back(round_up(std::max(bytes, kRegionBytes), kHugePage),
                              "rearranging " + purpose);
        used_ = 0;
    }
    uint8_t* result = regions_.back().data() + used_;
    used_ += bytes;
    return result;
}

void PackedArena::collapse_to_huge_pages(const uint8_t* begin, size_t bytes) const {
    for (const PageBuffer& region : regions_)
        if (begin >= region.data() && begin < region.data() + region.size())
            return region.collapse_to_huge_pages(static_cast<size_t>(begin - region.data()), bytes);
}

PackedMatrix::PackedMatrix(const Weight& w, const PackedFormat& format, PackedArena& arena,
                           ThreadPool& pool)
    : format_(format), tiles_(w.rows / kTileRows), tile_bytes_(format.tile_bytes(w.cols)) {
    data_ = arena.allocate(tile_bytes_ * size_t(tiles_), w.name);
    // The file's pages go as soon as their tiles are written, so that packing a large matrix (a
    // 128k-token embedding) never holds both copies of all of it at once.
    pool.parallel_for(tiles_, 16, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t)
            format_.pack_tile(w.data + size_t(t * kTileRows) * w.row_bytes, w.row_bytes, w.cols,
                              data_ + size_t(t) * tile_bytes_);
        if (w.file_mapped)
            release_pages(w.data + size_t(begin * kTileRows) * w.row_bytes,
                          w.data + size_t(end * kTileRows) * w.row_bytes);
    });
    arena.collapse_to_huge_pages(data_, tile_bytes_ * size_t(tiles_));
}

size_t PackedWeightCache::KeyHash::operator()(const Key& k) const {
    return std::hash<const void*>()(k.data) ^ std::hash<int64_t>()(k.rows * 31 + k.cols);
}

const PackedMatrix* PackedWeightCache::find_or_pack(const Weight& w, ThreadPool& pool) {
    if (w.rows < kTileRows || w.row_lookups) return nullptr;
    const Key key{w.data, w.rows, w.cols, w.type};
    if (auto it = packed_.find(key); it != packed_.end()) return it->second.get();
    const PackedFormat* format = packing_enabled() ? packed_format(w.type, w.cols) : nullptr;
    std::unique_ptr<PackedMatrix>& slot = packed_[key];
    if (format != nullptr) slot = std::make_unique<PackedMatrix>(w, *format, arena_, pool);
    return slot.get();
}

}  // namespace uma::cpu::detail
