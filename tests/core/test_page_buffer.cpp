// PageBuffer: zeroed memory on huge-page boundaries, and collapsing into huge pages keeps what was
// written.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "uma/core/page_buffer.h"

namespace uma {
namespace {

constexpr size_t kHugePage = size_t(2) << 20;

TEST(PageBuffer, LargeBuffersStartOnAHugePageAndAreZero) {
    for (size_t bytes : {kHugePage, 3 * kHugePage + 4096, 10 * kHugePage}) {
        const PageBuffer buffer(bytes, "a test");
        ASSERT_NE(buffer.data(), nullptr);
        EXPECT_EQ(buffer.size(), bytes);
        EXPECT_EQ(reinterpret_cast<uintptr_t>(buffer.data()) % kHugePage, 0u) << bytes;
        for (size_t i = 0; i < bytes; i += 4096) ASSERT_EQ(buffer.data()[i], 0) << i;
        buffer.data()[bytes - 1] = 1;  // the whole size is mapped
    }
    const PageBuffer small(100, "a small test");
    EXPECT_EQ(reinterpret_cast<uintptr_t>(small.data()) % 4096, 0u);
}

TEST(PageBuffer, CollapsingKeepsTheContents) {
    const size_t bytes = 5 * kHugePage + 12345;
    const PageBuffer buffer(bytes, "a test");
    // Written in part only: collapsing may fill the untouched rest of a huge page with zeros.
    for (size_t i = 0; i < 3 * kHugePage; ++i) buffer.data()[i] = static_cast<uint8_t>(i * 7 + 1);
    buffer.collapse_to_huge_pages(100, 3 * kHugePage);  // rounded out to whole huge pages
    buffer.collapse_to_huge_pages(bytes - 10, 1000);    // past the end: clamped
    buffer.collapse_to_huge_pages(bytes + 1, 10);       // outside: nothing
    for (size_t i = 0; i < 3 * kHugePage; ++i)
        ASSERT_EQ(buffer.data()[i], static_cast<uint8_t>(i * 7 + 1)) << i;
    for (size_t i = 3 * kHugePage; i < bytes; i += 512) ASSERT_EQ(buffer.data()[i], 0) << i;
}

// VmSize of this process, in KiB.
uint64_t address_space_kib() {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("VmSize:", 0) == 0) return std::strtoull(line.c_str() + 7, nullptr, 10);
    return 0;
}

// Whatever was mapped beyond the buffer to align it is unmapped, sizes that are not whole pages
// included: nothing is left behind by a buffer's life.
TEST(PageBuffer, FreeingReturnsAllTheAddressSpace) {
    for (size_t bytes : {5 * kHugePage + 12345, 3 * kHugePage, kHugePage + 1}) {
        { const PageBuffer warm(bytes, "a test"); }
        const uint64_t before = address_space_kib();
        for (int i = 0; i < 64; ++i) {
            const PageBuffer buffer(bytes, "a test");
            buffer.data()[bytes - 1] = 1;
        }
        EXPECT_LT(address_space_kib(), before + 8 * 1024) << bytes;  // 64 leaks would be ~128 MiB
    }
}

TEST(PageBuffer, MovingHandsOverTheMemory) {
    PageBuffer a(kHugePage, "a test");
    a.data()[5] = 42;
    PageBuffer b(std::move(a));
    EXPECT_EQ(a.data(), nullptr);
    EXPECT_EQ(b.data()[5], 42);
    PageBuffer c;
    c = std::move(b);
    EXPECT_EQ(c.data()[5], 42);
    EXPECT_EQ(c.size(), kHugePage);
}

}  // namespace
}  // namespace uma
