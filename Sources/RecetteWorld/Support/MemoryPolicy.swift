#if canImport(Glibc)
import Glibc

/// glibc's mallopt(3); <malloc.h> is not part of Swift's Glibc module.
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
/// M_MMAP_THRESHOLD in <malloc.h>.
private let glibcMmapThreshold: Int32 = -3
#endif

/// How recette asks the C allocator for memory.
public enum MemoryPolicy {
    /// Blocks of 1 MiB and more (reindex batches of 16 MB, download and restore buffers) come
    /// straight from mmap and go back to the system when freed.
    ///
    /// glibc's default threshold moves: once a large mmapped block is freed it rises to that
    /// block's size, and the following batches are carved from the heap arenas, where freed
    /// space stays fragmented and counted in RSS. Measured on `recette reindex` of 1,000,000
    /// documents (scripts/bench-reindex.sh): peak RSS 141–177 MiB from run to run with the
    /// default, 98 MiB with this, the same at a quarter of the rows, at the same speed.
    public static func returnLargeBlocksToTheSystem() {
        #if canImport(Glibc)
        _ = glibcMallopt(glibcMmapThreshold, 1 << 20)
        #endif
    }
}
