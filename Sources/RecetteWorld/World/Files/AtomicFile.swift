import Foundation
import Glibc

/// A file replaced whole: written to a temporary file beside it, synced, then renamed over
/// it, so a reader (or an interrupted run) sees the old file or the new one, never half.
package enum AtomicFile {
    package static func write(_ data: Data, to url: URL, permissions: mode_t) throws {
        let directory = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var template = Array(directory.appendingPathComponent(".\(url.lastPathComponent).recette-XXXXXX").path.utf8CString)
        let descriptor = mkstemp(&template)
        guard descriptor >= 0 else {
            throw RecetteFailure("cannot create a temporary file in \(directory.path): \(String(cString: strerror(errno)))")
        }
        let temporary = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        do {
            try handle.write(contentsOf: data)
            guard fchmod(descriptor, permissions) == 0 else {
                throw RecetteFailure("cannot set the mode of \(temporary): \(String(cString: strerror(errno)))")
            }
            try handle.synchronize()
            try handle.close()
            guard rename(temporary, url.path) == 0 else {
                throw RecetteFailure("cannot rename \(temporary) to \(url.path): \(String(cString: strerror(errno)))")
            }
        } catch {
            unlink(temporary)
            throw error
        }
    }
}
