import Foundation

/// Finds the PostgreSQL client and server programs of this machine.
///
/// Order: `RECETTE_PG_BINDIR`; `pg_config --bindir`; PATH; the newest
/// `/usr/lib/postgresql/N/bin` (Debian keeps initdb and pg_ctl there, off PATH).
public struct PostgresTools: Sendable {
    public enum Program: String, Sendable, CaseIterable {
        case pgRestore = "pg_restore", pgDump = "pg_dump", initdb, pgCtl = "pg_ctl", psql, pgIsReady = "pg_isready"
    }

    public var searchDirectories: [String]

    public init(binDirectory: String?, environment: [String: String] = ProcessInfo.processInfo.environment) {
        var directories: [String] = []
        if let binDirectory, !binDirectory.isEmpty { directories.append(binDirectory) }
        directories += Self.debianVersionedDirectories()
        directories += (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map(String.init)
        self.searchDirectories = directories
    }

    /// Absolute path of `program`, or nil when it is nowhere.
    public func path(of program: Program) -> String? {
        for directory in searchDirectories {
            let candidate = (directory as NSString).appendingPathComponent(program.rawValue)
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    public func require(_ program: Program) throws -> String {
        guard let path = path(of: program) else { throw PostgresToolsError.missing(program.rawValue) }
        return path
    }

    /// `pg_restore (PostgreSQL) 15.18 (Debian …)` → 15.
    public static func majorVersion(fromVersionOutput output: String) -> Int? {
        guard let token = output.split(separator: " ").first(where: { $0.first?.isNumber == true }) else { return nil }
        return Int(token.split(separator: ".").first ?? "")
    }

    /// Debian's `/usr/lib/postgresql/<major>/bin`, newest major first.
    private static func debianVersionedDirectories() -> [String] {
        let root = "/usr/lib/postgresql"
        let majors = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted(by: >)
        return majors.map { "\(root)/\($0)/bin" }
    }
}

public enum PostgresToolsError: Error, CustomStringConvertible {
    case missing(String)

    public var description: String {
        switch self {
        case .missing(let program):
            "\(program) not found; install PostgreSQL (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql@15) or set RECETTE_PG_BINDIR"
        }
    }
}
