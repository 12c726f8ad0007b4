import CZlib
import Foundation

public struct GzipError: Error, CustomStringConvertible, Sendable {
    public let operation: String
    public let code: Int32
    public var description: String { "gzip \(operation) failed (zlib code \(code))" }
}

/// Whole-buffer gzip, through zlib. Used for request bodies (Meilisearch accepts
/// `Content-Encoding: gzip`) and by the stand-ins to read them.
public enum Gzip {
    /// gzip-compresses `data` (level 1 by default: on 2 cores the CPU is the scarce part).
    public static func compress(_ data: Data, level: Int32 = 1) throws -> Data {
        var stream = z_stream()
        var status = recette_deflate_init_gzip(&stream, level)
        guard status == Z_OK else { throw GzipError(operation: "deflateInit", code: status) }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(data.count)))
        var output = Data(count: bound)
        let written: Int = try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) -> Int in
            try output.withUnsafeMutableBytes { (out: UnsafeMutableRawBufferPointer) -> Int in
                stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
                stream.avail_in = uInt(input.count)
                stream.next_out = out.bindMemory(to: Bytef.self).baseAddress
                stream.avail_out = uInt(out.count)
                status = deflate(&stream, Z_FINISH)
                guard status == Z_STREAM_END else { throw GzipError(operation: "deflate", code: status) }
                return out.count - Int(stream.avail_out)
            }
        }
        output.count = written
        return output
    }

    /// Decompresses a gzip (or zlib) buffer. `limit` bounds the output: a body that inflates past
    /// it throws, so a small request cannot grow into an unbounded allocation.
    public static func decompress(_ data: Data, limit: Int = Int.max) throws -> Data {
        var stream = z_stream()
        var status = recette_inflate_init_gzip(&stream)
        guard status == Z_OK else { throw GzipError(operation: "inflateInit", code: status) }
        defer { inflateEnd(&stream) }
        var output = Data()
        var chunk = [UInt8](repeating: 0, count: 256 * 1024)
        try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
            stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
            stream.avail_in = uInt(input.count)
            repeat {
                let produced: Int = chunk.withUnsafeMutableBufferPointer { buffer in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = uInt(buffer.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    return buffer.count - Int(stream.avail_out)
                }
                guard status == Z_OK || status == Z_STREAM_END else { throw GzipError(operation: "inflate", code: status) }
                output.append(contentsOf: chunk[0..<produced])
                guard output.count <= limit else { throw GzipError(operation: "inflate (output over \(limit) bytes)", code: Z_BUF_ERROR) }
                if status == Z_OK && produced == 0 && stream.avail_in == 0 { throw GzipError(operation: "inflate (truncated input)", code: Z_BUF_ERROR) }
            } while status != Z_STREAM_END
        }
        return output
    }

    /// Whether `file` is whole gzip: every member inflates to its end (zlib checks each
    /// member's CRC and length), and nothing follows the last one. A download cut short, with
    /// no size to compare against, fails this. Streams the file: constant memory.
    public static func isCompleteStream(_ file: URL) -> Bool {
        guard let handle = try? FileHandle(forReadingFrom: file) else { return false }
        defer { try? handle.close() }
        var stream = z_stream()
        guard recette_inflate_init_gzip(&stream) == Z_OK else { return false }
        defer { inflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: 256 * 1024)
        var sawData = false
        var status = Z_OK
        while true {
            guard let input = try? handle.read(upToCount: 1 << 20), !input.isEmpty else {
                // End of the file: complete only at the end of a member.
                return sawData && status == Z_STREAM_END
            }
            sawData = true
            let ok: Bool = input.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
                stream.next_in = UnsafeMutablePointer(mutating: bytes.bindMemory(to: Bytef.self).baseAddress)
                stream.avail_in = uInt(bytes.count)
                while stream.avail_in > 0 {
                    if status == Z_STREAM_END {
                        // Another member follows (gzip files may be concatenated).
                        guard inflateReset(&stream) == Z_OK else { return false }
                    }
                    status = output.withUnsafeMutableBufferPointer { buffer in
                        stream.next_out = buffer.baseAddress
                        stream.avail_out = uInt(buffer.count)
                        return inflate(&stream, Z_NO_FLUSH)
                    }
                    guard status == Z_OK || status == Z_STREAM_END else { return false }
                }
                return true
            }
            guard ok else { return false }
        }
    }
}
