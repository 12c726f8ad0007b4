import Foundation

/// A child process to run: an argv array, never a shell string.
public struct Command: Sendable, CustomStringConvertible {
    /// A name looked up in PATH, or an absolute path.
    public var executable: String
    public var arguments: [String]
    /// Added to (or overriding) the inherited environment. Secrets travel here, never in
    /// `arguments`: the environment of another user's process is not readable through `ps`.
    public var environment: [String: String]
    public var workingDirectory: String?
    /// Run as this user (e.g. `postgres` when recette runs as root and the child is initdb).
    public var user: SystemUser?

    public init(_ executable: String, _ arguments: [String] = [], environment: [String: String] = [:], workingDirectory: String? = nil, user: SystemUser? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.user = user
    }

    /// The command line as shown in logs and errors: environment values are not shown,
    /// URL passwords are hidden, arguments with spaces are quoted.
    public var description: String {
        let words = [executable] + arguments
        return words.map { word in
            let safe = Redaction.redactingURLPasswords(in: word)
            return safe.contains(where: { $0 == " " || $0 == "'" || $0 == "\"" }) || safe.isEmpty
                ? "'" + safe.replacingOccurrences(of: "'", with: "'\\''") + "'"
                : safe
        }.joined(separator: " ")
    }

    /// The executable's short name, for messages (`pg_restore`, not `/usr/lib/…/pg_restore`).
    public var name: String { (executable as NSString).lastPathComponent }
}

/// A Unix account a child process runs as.
public struct SystemUser: Sendable, Equatable {
    public var name: String
    public var uid: UInt32
    public var gid: UInt32
    public var home: String

    public init(name: String, uid: UInt32, gid: UInt32, home: String) {
        self.name = name
        self.uid = uid
        self.gid = gid
        self.home = home
    }

    public static func lookup(_ name: String) -> SystemUser? {
        guard let entry = getpwnam(name) else { return nil }
        return SystemUser(name: name, uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid, home: String(cString: entry.pointee.pw_dir))
    }

    public static var isRoot: Bool { geteuid() == 0 }
}
