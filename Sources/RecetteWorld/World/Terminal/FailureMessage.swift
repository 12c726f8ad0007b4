import Foundation

/// The one line a failure is printed as. Foundation's file errors describe themselves as a
/// dump (`Error Domain=NSCocoaErrorDomain Code=513 … UserInfo={…}`): they become what failed,
/// on which path, why, and what to do. Every other error keeps its own description.
public enum FailureMessage {
    public static func oneLine(_ error: any Error) -> String {
        fileSystem(error) ?? String(describing: error)
    }

    static func fileSystem(_ error: any Error) -> String? {
        let error = error as NSError
        guard error.domain == NSCocoaErrorDomain else { return nil }
        let path = (error.userInfo[NSFilePathErrorKey] as? String) ?? (error.userInfo[NSURLErrorKey] as? URL)?.path
        // Without Objective-C bridging, the underlying error is any Error, not an NSError.
        let underlying = (error.userInfo[NSUnderlyingErrorKey] as? any Error).map { $0 as NSError }
        let posix = underlying.flatMap { $0.domain == NSPOSIXErrorDomain ? Int32($0.code) : nil }
        let reason = posix.map { String(cString: strerror($0)) } ?? error.localizedDescription
        // CocoaError: 4 and 256–511 are reading errors, 512–1023 writing errors.
        let verb = (512..<1024).contains(error.code) ? "cannot write" : "cannot read"
        let fix: String
        switch posix ?? Self.posixCode(ofCocoaCode: error.code) {
        case EACCES, EPERM, EROFS:
            fix = "make it writable, or run recette from a project directory you can write to (--project-dir)"
        case EEXIST, ENOTDIR:
            fix = "a file is in the way of a directory recette needs there: move it aside"
        case ENOSPC, EDQUOT:
            fix = "free some disk space, then retry"
        default:
            fix = "check the path and its permissions"
        }
        return "\(verb) \(path ?? "a file"): \(reason); \(fix)"
    }

    /// CocoaError codes that say what the POSIX error would.
    private static func posixCode(ofCocoaCode code: Int) -> Int32? {
        switch code {
        case CocoaError.fileWriteNoPermission.rawValue, CocoaError.fileReadNoPermission.rawValue, CocoaError.fileWriteVolumeReadOnly.rawValue: EACCES
        case CocoaError.fileWriteFileExists.rawValue: EEXIST
        case CocoaError.fileWriteOutOfSpace.rawValue: ENOSPC
        default: nil
        }
    }
}
