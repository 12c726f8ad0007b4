import CZlib
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RecetteWorld

/// Reads a backup's `.tar.gz` in one pass and writes out its one dump member, nothing else.
///
/// Every member's header is read here rather than by `tar --extract`, because what may be
/// written is decided from the header itself: only a member whose type is a regular file, whose
/// path stays inside the archive, and only its own `size` bytes, into a new file made 0600.
/// Links, devices and FIFOs are never created, so no dump elsewhere on the machine can be pulled
/// in; other members are decompressed (gzip's checksum at the end covers the whole archive) but
/// never reach the disk, so a small archive cannot fill it. The free space is checked against
/// the header's size before the first byte is written.
struct DumpExtraction {
    let archive: String
    let directory: URL
    let isCanceled: @Sendable () -> Bool

    static let blockSize = 512

    /// The dump's path in `directory`.
    func run() throws -> URL {
        let reader = try GzipFileReader(path: archive)
        defer { reader.close() }
        var names: [String] = []
        var dumps: [String] = []
        var extracted: URL?
        var pendingName: String?
        var pendingLink: String?
        var pendingPax: [String: String] = [:]
        var headersRead = 0
        do {
            while let block = try readHeaderBlock(reader, first: headersRead == 0) {
                headersRead += 1
                var header = try TarHeader(block, offset: reader.produced - Int64(Self.blockSize), archive: archive, first: headersRead == 1)
                switch header.type {
                case UInt8(ascii: "L"), UInt8(ascii: "K"):
                    // GNU long name / long link target: the data is the next member's name.
                    let text = String(decoding: try readData(reader, count: header.size).prefix { $0 != 0 }, as: UTF8.self)
                    if header.type == UInt8(ascii: "L") { pendingName = text } else { pendingLink = text }
                    continue
                case UInt8(ascii: "x"):
                    pendingPax.merge(try PaxRecords.parse(try readData(reader, count: header.size), archive: archive)) { $1 }
                    continue
                case UInt8(ascii: "g"):
                    try skip(reader, count: header.size + Self.padding(header.size))
                    continue
                default:
                    break
                }
                header.apply(longName: pendingName, longLink: pendingLink, pax: pendingPax)
                (pendingName, pendingLink, pendingPax) = (nil, nil, [:])
                try header.checkSize(archive: archive)
                if names.count < 5 { names.append(header.name) }
                guard header.isDumpCandidate else {
                    try skip(reader, count: header.size + Self.padding(header.size))
                    continue
                }
                dumps.append(header.name)
                if dumps.count == 1 {
                    extracted = try write(header, from: reader)
                } else {
                    // Several dumps: the archive is refused, but the names of all of them are
                    // worth reading to the end for the message.
                    if let file = extracted { try? FileManager.default.removeItem(at: file) }
                    extracted = nil
                    try skip(reader, count: header.size + Self.padding(header.size))
                }
            }
            // The rest (tar's zero padding) is read too: gzip's CRC and length at the end of the
            // stream are what tell a damaged download from a good one.
            try skip(reader, count: nil)
        } catch {
            if let file = extracted { try? FileManager.default.removeItem(at: file) }
            throw error
        }
        switch dumps.count {
        case 0:
            throw BackupArchiveError.noDump(archive, members: names)
        case 1:
            return extracted!
        default:
            throw BackupArchiveError.severalDumps(archive, dumps: dumps)
        }
    }

    /// The next header block, or nil at the end of the archive (a zero block, or the data's end
    /// on a block boundary, which GNU tar accepts too).
    private func readHeaderBlock(_ reader: GzipFileReader, first: Bool) throws -> [UInt8]? {
        var block = [UInt8](repeating: 0, count: Self.blockSize)
        let got = try block.withUnsafeMutableBytes { try reader.readFully($0.baseAddress!, count: Self.blockSize) }
        if got == 0 {
            if first { throw BackupArchiveError.notTar(archive, detail: "it holds no tar data") }
            return nil
        }
        guard got == Self.blockSize else {
            if first { throw BackupArchiveError.notTar(archive, detail: "it holds \(got) bytes, less than one tar header") }
            throw BackupArchiveError.corrupt(archive, detail: "the tar data ends inside a member header")
        }
        return block.allSatisfy({ $0 == 0 }) ? nil : block
    }

    private func readData(_ reader: GzipFileReader, count: Int64) throws -> [UInt8] {
        // Name and pax records are small; a huge one is not a header a backup would carry.
        guard count <= 1 << 20 else { throw BackupArchiveError.corrupt(archive, detail: "a tar extended header of \(count) bytes") }
        var data = [UInt8](repeating: 0, count: Int(count))
        let got = try data.withUnsafeMutableBytes { try reader.readFully($0.baseAddress!, count: Int(count)) }
        guard got == count else { throw BackupArchiveError.corrupt(archive, detail: "the tar data ends inside a member") }
        try skip(reader, count: Self.padding(count))
        return data
    }

    /// Decompresses and drops `count` bytes (nil: to the end of the data).
    private func skip(_ reader: GzipFileReader, count: Int64?) throws {
        try forEachChunk(reader, count: count) { _, _ in }
    }

    private func forEachChunk(_ reader: GzipFileReader, count: Int64?, _ body: (UnsafeRawPointer, Int) throws -> Void) throws {
        let chunkSize = 256 << 10
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        var left = count ?? Int64.max
        while left > 0 {
            if isCanceled() { throw CancellationError() }
            let got = try reader.readFully(buffer, count: Int(min(Int64(chunkSize), left)))
            if got == 0 {
                if count == nil { return }
                throw BackupArchiveError.corrupt(archive, detail: "the tar data ends inside a member")
            }
            try body(buffer, got)
            left -= Int64(got)
        }
    }

    /// The dump member, as a new regular file of exactly its header's size.
    private func write(_ header: TarHeader, from reader: GzipFileReader) throws -> URL {
        guard header.isRegularFile else {
            throw BackupArchiveError.memberNotRegular(archive, member: header.name, kind: header.typeDescription)
        }
        guard header.hasSafePath else { throw BackupArchiveError.unsafeMember(archive, member: header.name) }
        let available = Self.availableBytes(in: directory)
        if let available, header.size > available {
            throw BackupArchiveError.noSpace(archive, needed: header.size, available: available, directory: directory.path)
        }
        let file = directory.appendingPathComponent(header.baseName)
        let descriptor = try PrivateFile.create(file)
        var closed = false
        defer { if !closed { posixClose(descriptor) } }
        do {
            try forEachChunk(reader, count: header.size) { bytes, count in
                var offset = 0
                while offset < count {
                    let written = posixWrite(descriptor, bytes + offset, count - offset)
                    if written > 0 {
                        offset += written
                    } else if written < 0 && errno == EINTR {
                        continue
                    } else {
                        let code = written < 0 ? errno : ENOSPC
                        if code == ENOSPC || code == EDQUOT {
                            throw BackupArchiveError.noSpace(archive, needed: header.size, available: Self.availableBytes(in: directory) ?? 0,
                                                             directory: directory.path)
                        }
                        throw BackupArchiveError.cannotWrite(archive, directory: directory.path, reason: String(cString: strerror(code)))
                    }
                }
            }
            try skip(reader, count: Self.padding(header.size))
            closed = true
            guard posixClose(descriptor) == 0 else {
                throw BackupArchiveError.cannotWrite(archive, directory: directory.path, reason: String(cString: strerror(errno)))
            }
        } catch {
            try? FileManager.default.removeItem(at: file)
            throw error
        }
        return file
    }

    static func padding(_ size: Int64) -> Int64 {
        let remainder = size % Int64(blockSize)
        return remainder == 0 ? 0 : Int64(blockSize) - remainder
    }

    static func availableBytes(in directory: URL) -> Int64? {
        var info = statvfs()
        guard statvfs(directory.path, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }
}

/// One tar header (ustar/GNU/pax), as far as choosing and writing the dump needs.
struct TarHeader {
    var name: String
    var linkName: String
    var size: Int64
    var type: UInt8

    init(_ block: [UInt8], offset: Int64, archive: String, first: Bool) throws {
        // The checksum is the sum of the header's bytes with its own field read as spaces.
        let stored = Self.number(block[148..<156])
        let unsigned = block.enumerated().reduce(0) { $0 + Int64(148..<156 ~= $1.offset ? 0x20 : Int($1.element)) }
        let signed = block.enumerated().reduce(0) { $0 + Int64(148..<156 ~= $1.offset ? 0x20 : Int(Int8(bitPattern: $1.element))) }
        guard let stored, stored == unsigned || stored == signed else {
            if first { throw BackupArchiveError.notTar(archive, detail: "its first block is not a tar header") }
            throw BackupArchiveError.corrupt(archive, detail: "the tar header at byte \(offset) has a wrong checksum")
        }
        guard let size = Self.number(block[124..<136]) else {
            throw BackupArchiveError.corrupt(archive, detail: "the tar header at byte \(offset) has no valid size")
        }
        self.size = size
        type = block[156]
        var name = Self.text(block[0..<100])
        // ustar keeps long paths' leading directories in a prefix field.
        if block[257..<262].elementsEqual("ustar".utf8) {
            let prefix = Self.text(block[345..<500])
            if !prefix.isEmpty { name = prefix + "/" + name }
        }
        self.name = name
        linkName = Self.text(block[157..<257])
    }

    mutating func apply(longName: String?, longLink: String?, pax: [String: String]) {
        if let path = pax["path"] ?? longName { name = path }
        if let link = pax["linkpath"] ?? longLink { linkName = link }
        if let text = pax["size"] { size = Int64(text) ?? -1 }
    }

    func checkSize(archive: String) throws {
        guard size >= 0 else { throw BackupArchiveError.corrupt(archive, detail: "member '\(name)' has an invalid size") }
    }

    var isDumpCandidate: Bool {
        !name.hasSuffix("/") && BackupArchive.dumpExtensions.contains((name as NSString).pathExtension.lowercased())
    }

    /// '0', NUL (pre-POSIX) and '7' (contiguous) are plain files.
    var isRegularFile: Bool { type == UInt8(ascii: "0") || type == 0 || type == UInt8(ascii: "7") }

    private var components: [Substring] { name.split(separator: "/", omittingEmptySubsequences: true) }

    /// Relative, without `..`: a member that could only be written outside the archive's own
    /// directory is no part of a backup.
    var hasSafePath: Bool {
        !name.hasPrefix("/") && !components.contains("..") && !baseName.isEmpty && baseName != "."
    }

    var baseName: String { components.last.map(String.init) ?? "" }

    var typeDescription: String {
        switch type {
        case UInt8(ascii: "1"): "a hard link to '\(linkName)'"
        case UInt8(ascii: "2"): "a symbolic link to '\(linkName)'"
        case UInt8(ascii: "3"): "a character device"
        case UInt8(ascii: "4"): "a block device"
        case UInt8(ascii: "5"): "a directory"
        case UInt8(ascii: "6"): "a FIFO"
        case UInt8(ascii: "S"): "a GNU sparse file"
        default: "of tar type '\(String(UnicodeScalar(type)))'"
        }
    }

    /// Octal (space or NUL terminated), or GNU's base-256 for values too large for octal.
    static func number(_ field: ArraySlice<UInt8>) -> Int64? {
        guard let first = field.first else { return nil }
        if first & 0x80 != 0 {
            var value: Int64 = Int64(first & 0x7F)
            for byte in field.dropFirst() {
                guard value <= (Int64.max >> 8) else { return nil }
                value = value << 8 | Int64(byte)
            }
            return value
        }
        var value: Int64 = 0
        var digits = 0
        for byte in field {
            if byte == 0x20 || byte == 0 {
                if digits > 0 { break } else { continue }
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "7"), value <= (Int64.max >> 3) else { return nil }
            value = value << 3 | Int64(byte - UInt8(ascii: "0"))
            digits += 1
        }
        return digits > 0 ? value : nil
    }

    static func text(_ field: ArraySlice<UInt8>) -> String {
        String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
    }
}

/// pax extended header records: `<length> <key>=<value>\n`.
enum PaxRecords {
    static func parse(_ data: [UInt8], archive: String) throws -> [String: String] {
        var records: [String: String] = [:]
        var index = 0
        while index < data.count, data[index] != 0 {
            guard let space = data[index...].firstIndex(of: 0x20),
                  let length = Int(String(decoding: data[index..<space], as: UTF8.self)), length > space - index,
                  index + length <= data.count, data[index + length - 1] == 0x0A else {
                throw BackupArchiveError.corrupt(archive, detail: "a malformed pax header")
            }
            let record = data[(space + 1)..<(index + length - 1)]
            if let equals = record.firstIndex(of: UInt8(ascii: "=")) {
                records[String(decoding: record[..<equals], as: UTF8.self)] = String(decoding: record[(equals + 1)...], as: UTF8.self)
            }
            index += length
        }
        return records
    }
}

/// A gzip file's decompressed bytes, read forward (concatenated gzip members included, as
/// gzip itself reads them). A stream that stops before its end, or whose checksum does not
/// match, throws `corrupt`.
final class GzipFileReader {
    private let path: String
    private let descriptor: Int32
    private var stream = z_stream()
    private let input: UnsafeMutableRawPointer
    private static let inputSize = 1 << 20
    private var endOfFile = false
    private var finished = false
    /// Decompressed bytes handed out so far.
    private(set) var produced: Int64 = 0

    init(path: String) throws {
        self.path = path
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw BackupArchiveError.readFailed(path, reason: String(cString: strerror(errno))) }
        input = UnsafeMutableRawPointer.allocate(byteCount: Self.inputSize, alignment: 16)
        let status = recette_inflate_init_gzip(&stream)
        guard status == Z_OK else {
            posixClose(descriptor)
            input.deallocate()
            throw BackupArchiveError.corrupt(path, detail: "zlib could not start (code \(status))")
        }
    }

    func close() {
        inflateEnd(&stream)
        posixClose(descriptor)
        input.deallocate()
    }

    /// Fills `count` bytes unless the data ends first; returns how many were filled.
    func readFully(_ buffer: UnsafeMutableRawPointer, count: Int) throws -> Int {
        var filled = 0
        while filled < count {
            let got = try read(buffer + filled, count: count - filled)
            if got == 0 { break }
            filled += got
        }
        return filled
    }

    private func refill() throws {
        guard stream.avail_in == 0, !endOfFile else { return }
        while true {
            let got = posixRead(descriptor, input, Self.inputSize)
            if got < 0 && errno == EINTR { continue }
            guard got >= 0 else { throw BackupArchiveError.readFailed(path, reason: String(cString: strerror(errno))) }
            if got == 0 { endOfFile = true }
            stream.next_in = input.assumingMemoryBound(to: Bytef.self)
            stream.avail_in = uInt(got)
            return
        }
    }

    /// Up to `count` decompressed bytes; 0 once the last gzip member has ended.
    private func read(_ buffer: UnsafeMutableRawPointer, count: Int) throws -> Int {
        while !finished {
            try refill()
            if stream.avail_in == 0 && endOfFile {
                throw BackupArchiveError.corrupt(path, detail: "unexpected end of file")
            }
            stream.next_out = buffer.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(count)
            let status = inflate(&stream, Z_NO_FLUSH)
            let got = count - Int(stream.avail_out)
            produced += Int64(got)
            switch status {
            case Z_OK, Z_BUF_ERROR:
                break
            case Z_STREAM_END:
                // Another gzip member may follow; only the end of the file ends the data.
                try refill()
                if stream.avail_in == 0 && endOfFile {
                    finished = true
                } else {
                    inflateReset(&stream)
                }
            default:
                let message = stream.msg.map { String(cString: $0) } ?? "zlib code \(status)"
                throw BackupArchiveError.corrupt(path, detail: message)
            }
            if got > 0 { return got }
        }
        return 0
    }
}

/// Set from any thread (task cancellation), read by the extraction's thread.
final class CancelFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func cancel() { value.store(true, ordering: .relaxed) }
    var isCanceled: Bool { value.load(ordering: .relaxed) }
}
