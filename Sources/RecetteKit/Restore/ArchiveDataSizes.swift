import Foundation
import RecetteWorld

/// The size of each TABLE DATA block of a custom-format archive, read from its binary table of
/// contents: every entry records where its data starts, so a block's size is the distance to
/// the next block (the last one runs to the end of the file). Compressed sizes, which is what
/// pg_restore reads: good weights for a progress bar.
///
/// Layout (pg_backup_archiver.c, ReadHead/ReadToc; formats 1.12 to 1.15): an int is a sign byte
/// then `intSize` little-endian bytes; a string is an int length (-1: NULL) then its bytes; an
/// offset is a flag byte then `offSize` bytes.
public enum ArchiveDataSizes {
    /// Data sizes by TOC id, or nil for an archive this reader does not know (then progress is
    /// counted in items instead).
    public static func read(from dump: URL) -> [Int: Int64]? {
        readTOC(from: dump)?.dataSizes
    }

    /// What the binary TOC says beyond `pg_restore --list`: data sizes and dependencies.
    public struct BinaryTOC: Sendable {
        public var dataSizes: [Int: Int64]
        /// Entry id → the ids it depends on (an index on its table, a sequence on its owner…).
        public var dependencies: [Int: [Int]]
    }

    public static func readTOC(from dump: URL) -> BinaryTOC? {
        guard let handle = FileHandle(forReadingAtPath: dump.path) else { return nil }
        defer { try? handle.close() }
        // The TOC sits at the start; 64 MiB covers tens of thousands of entries.
        guard let data = try? handle.read(upToCount: 64 << 20), let fileSize = try? handle.seekToEnd() else { return nil }
        var reader = Reader(bytes: [UInt8](data))
        return try? reader.read(fileSize: Int64(fileSize))
    }

    struct Reader {
        let bytes: [UInt8]
        var position = 0
        var intSize = 4
        var offSize = 8
        var minor = 0

        struct Unreadable: Error {}

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func byte() throws -> UInt8 {
            guard position < bytes.count else { throw Unreadable() }
            defer { position += 1 }
            return bytes[position]
        }

        mutating func int() throws -> Int {
            let negative = try byte() != 0
            var value = 0
            for shift in 0..<intSize { value |= Int(try byte()) << (8 * shift) }
            return negative ? -value : value
        }

        mutating func string() throws -> String? {
            let length = try int()
            guard length >= 0 else { return nil }
            guard position + length <= bytes.count else { throw Unreadable() }
            defer { position += length }
            return String(decoding: bytes[position..<position + length], as: UTF8.self)
        }

        /// (flag, offset): flag 2 means "data here, offset known".
        mutating func offset() throws -> (UInt8, Int64) {
            let flag = try byte()
            var value: Int64 = 0
            for shift in 0..<offSize { value |= Int64(try byte()) << (8 * shift) }
            return (flag, value)
        }

        mutating func read(fileSize: Int64) throws -> BinaryTOC {
            guard bytes.count > 11, bytes[0..<5].elementsEqual("PGDMP".utf8), bytes[5] == 1 else { throw Unreadable() }
            minor = Int(bytes[6])
            guard (12...15).contains(minor) else { throw Unreadable() }
            position = 8
            intSize = Int(try byte())
            offSize = Int(try byte())
            guard try byte() == 1 else { throw Unreadable() }  // 1: custom format
            if minor >= 15 { _ = try byte() } else { _ = try int() }  // compression
            for _ in 0..<7 { _ = try int() }  // creation time
            _ = try string()  // database name
            _ = try string()  // server version
            _ = try string()  // pg_dump version

            var starts: [(id: Int, isData: Bool, offset: Int64)] = []
            var dependencies: [Int: [Int]] = [:]
            let count = try int()
            guard count > 0, count < 10_000_000 else { throw Unreadable() }
            for _ in 0..<count {
                let id = try int()
                _ = try int()  // had dumper
                _ = try string()  // table oid
                _ = try string()  // oid
                _ = try string()  // tag
                let desc = try string()
                _ = try int()  // section
                _ = try string()  // definition
                _ = try string()  // drop statement
                _ = try string()  // copy statement
                _ = try string()  // namespace
                _ = try string()  // tablespace
                if minor >= 14 { _ = try string() }  // table access method
                _ = try string()  // owner
                _ = try string()  // "false" (with oids)
                var depends: [Int] = []
                while let dependency = try string() { if let id = Int(dependency) { depends.append(id) } }  // NULL-terminated
                dependencies[id] = depends
                let (flag, offset) = try offset()
                if flag == 2 { starts.append((id, desc == "TABLE DATA", offset)) }
            }
            // Every block with data, data or not (large objects…), bounds the one before it.
            let ordered = starts.sorted { $0.offset < $1.offset }
            var sizes: [Int: Int64] = [:]
            for (index, start) in ordered.enumerated() where start.isData {
                let end = index + 1 < ordered.count ? ordered[index + 1].offset : fileSize
                sizes[start.id] = max(0, end - start.offset)
            }
            return BinaryTOC(dataSizes: sizes, dependencies: dependencies)
        }
    }
}
