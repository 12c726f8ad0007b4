import CLibPQ
import Foundation

/// An error from libpq or the server, with the server's SQLSTATE when there is one.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    /// Five-character SQLSTATE (`42P01` undefined_table…), nil for client-side failures.
    public var sqlState: String?
    /// The server's primary message (or libpq's, for connection failures).
    public var message: String
    public var detail: String?
    /// What recette was doing: `connect to 127.0.0.1:5432/recette`, `query`…
    public var context: String

    public var description: String {
        var text = "\(context): \(message)"
        if let sqlState { text += " (SQLSTATE \(sqlState))" }
        if let detail { text += "; \(detail)" }
        return text
    }
}

/// The rows of a query, as text (libpq's text format), with column names.
public struct QueryResult: Sendable {
    public var columns: [String]
    public var rows: [[String?]]
    /// Rows affected, for INSERT/UPDATE/DELETE/COPY.
    public var affectedRows: Int

    public init(columns: [String], rows: [[String?]], affectedRows: Int) {
        self.columns = columns
        self.rows = rows
        self.affectedRows = affectedRows
    }

    public func column(_ name: String) -> [String?] {
        guard let index = columns.firstIndex(of: name) else { return [] }
        return rows.map { $0[index] }
    }

    /// The single value of a one-row, one-column result.
    public var scalar: String? { rows.first?.first ?? nil }
}

/// One libpq connection. Not safe to share between tasks running at the same time: give each
/// task its own connection.
///
/// Calls block the calling thread while the server works, like libpq itself.
public final class PostgresConnection: @unchecked Sendable {
    private let handle: OpaquePointer
    /// Host/port/database, for messages; never the password.
    public let displayTarget: String

    /// Connects with a `postgresql://` URL or a `key=value` connection string.
    /// Passwords may also come from `PGPASSWORD` in the environment.
    public init(url: String) throws {
        guard let handle = PQconnectdb(url) else {
            throw PostgresError(sqlState: nil, message: "out of memory", detail: nil, context: "connect")
        }
        self.handle = handle
        let host = PQhost(handle).map { String(cString: $0) } ?? "?"
        let port = PQport(handle).map { String(cString: $0) } ?? "?"
        let database = PQdb(handle).map { String(cString: $0) } ?? "?"
        self.displayTarget = "\(host):\(port)/\(database)"
        // Server notices ("… does not exist, skipping") are not errors; libpq's default
        // processor would print them on our standard error.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = Self.missingPassword(handle) ?? Self.trimmed(PQerrorMessage(handle))
            // Every stored property is set, so deinit runs and calls PQfinish.
            throw PostgresError(sqlState: nil, message: Redaction.redactingURLPasswords(in: message), detail: nil, context: "cannot connect to \(displayTarget)")
        }
    }

    deinit { PQfinish(handle) }

    /// libpq's "fe_sendauth: no password supplied" says neither where it looked nor what to do:
    /// name the password file it used (the URL's `passfile`, PGPASSFILE or ~/.pgpass) and why
    /// it gave nothing.
    private static func missingPassword(_ handle: OpaquePointer) -> String? {
        guard PQconnectionNeedsPassword(handle) == 1 else { return nil }
        var passfile: String?
        if let options = PQconninfo(handle) {
            var option = options
            while let keyword = option.pointee.keyword {
                if String(cString: keyword) == "passfile", let value = option.pointee.val { passfile = String(cString: value) }
                option += 1
            }
            PQconninfoFree(options)
        }
        let file = passfile ?? (ProcessInfo.processInfo.environment["HOME"].map { $0 + "/.pgpass" } ?? "~/.pgpass")
        let why = FileManager.default.fileExists(atPath: file) ? "has no line for this server and user" : "does not exist"
        return "the server asks for a password and none was given: the password file \(file) \(why); put the password in that file, the URL or PGPASSWORD"
    }

    /// Major.minor version of the server, e.g. 150018 → 15.
    public var serverMajorVersion: Int { Int(PQserverVersion(handle)) / 10000 }

    /// Runs one statement with `$1…$n` parameters sent separately from the SQL text, so values
    /// never need quoting.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws -> QueryResult {
        let result = withCStringArray(parameters) { values in
            PQexecParams(handle, sql, Int32(parameters.count), nil, values, nil, nil, 0)
        }
        return try consume(result, context: "query failed")
    }

    /// Runs one or more statements without parameters (e.g. DDL scripts).
    public func execute(_ sql: String) throws {
        _ = try consume(PQexec(handle, sql), context: "statement failed")
    }

    /// Sends one statement and returns without its result: the caller then lets the connection
    /// go. The server runs the statement to its end all the same (it reads from the client only
    /// between statements) and commits it; only the reply finds nobody. For work that should
    /// outlive this process: a ready copy of a template, made while the developer works.
    public func sendWithoutWaiting(_ sql: String) throws {
        guard PQsendQuery(handle, sql) == 1 else {
            throw PostgresError(sqlState: nil, message: Self.trimmed(PQerrorMessage(handle)), detail: nil, context: "could not send the statement")
        }
        // Blocking mode: PQsendQuery has flushed, unless the socket was full.
        while PQflush(handle) == 1 {}
    }

    /// Runs `COPY (…) TO STDOUT` and hands each chunk to `receive` as it arrives: memory stays
    /// flat however many rows come out. Returns the number of rows copied.
    @discardableResult
    public func copyOut(_ sql: String, receive: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        let start = PQexec(handle, sql)
        defer { PQclear(start) }
        guard PQresultStatus(start) == PGRES_COPY_OUT else {
            throw error(from: start, context: "COPY failed")
        }
        var receiveError: (any Error)?
        while true {
            var buffer: UnsafeMutablePointer<CChar>?
            let length = PQgetCopyData(handle, &buffer, 0)
            if length > 0, let buffer {
                if receiveError == nil {
                    do {
                        try receive(UnsafeRawBufferPointer(start: buffer, count: Int(length)))
                    } catch {
                        // The reader gave up: stop the server producing rows nobody reads,
                        // then drain what is already on the way.
                        receiveError = error
                        if let cancel = PQgetCancel(handle) {
                            CancelToken(cancel).send()
                            PQfreeCancel(cancel)
                        }
                    }
                }
                PQfreemem(buffer)
            } else if length == -1 {
                break
            } else {
                let message = Self.trimmed(PQerrorMessage(handle))
                throw PostgresError(sqlState: nil, message: message, detail: nil, context: "COPY failed")
            }
        }
        // The final result carries the outcome (and the row count) of the COPY.
        var rows = 0
        var failure: PostgresError?
        while let result = PQgetResult(handle) {
            if PQresultStatus(result) == PGRES_COMMAND_OK {
                rows = Int(String(cString: PQcmdTuples(result))) ?? 0
            } else if failure == nil {
                failure = error(from: result, context: "COPY failed")
            }
            PQclear(result)
        }
        if let receiveError { throw receiveError }
        if let failure { throw failure }
        return rows
    }

    /// Runs blocking libpq work on a thread of its own, so a long statement (a COPY feeding a
    /// slower consumer, say) never holds one of the few threads of Swift's concurrency pool.
    /// Cancelling the task cancels the statement on the server (PQcancel).
    public func onOwnThread<T: Sendable>(_ work: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try Task.checkCancellation()
        let token = PQgetCancel(handle).map { CancelToken(owning: $0) }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                let thread = Thread {
                    do {
                        continuation.resume(returning: try work(self))
                    } catch let error as PostgresError where error.sqlState == "57014" && token?.wasSent == true {
                        continuation.resume(throwing: CancellationError())
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
                thread.stackSize = 1 << 20
                thread.start()
            }
        } onCancel: {
            token?.send()
        }
    }

    /// A `key=value` connection string from libpq's environment variables (what child
    /// programs get), so an in-process connection reaches the same server the same way.
    public static func connectionString(libpqEnvironment environment: [String: String], database: String) -> String {
        let keys = ["PGHOST": "host", "PGPORT": "port", "PGUSER": "user", "PGPASSFILE": "passfile", "PGPASSWORD": "password", "PGSSLMODE": "sslmode",
                    "PGCONNECT_TIMEOUT": "connect_timeout"]
        func quoted(_ value: String) -> String {
            "'" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
        }
        var parts = ["dbname=" + quoted(database)]
        for (variable, key) in keys.sorted(by: { $0.key < $1.key }) {
            if let value = environment[variable] { parts.append("\(key)=\(quoted(value))") }
        }
        return parts.joined(separator: " ")
    }

    /// Quotes an identifier (table, role, database name) for SQL text.
    public static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Quotes a string literal for SQL text (only where parameters cannot be used, e.g. DDL).
    public static func quoteLiteral(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "'", with: "''") + "'"
    }

    // MARK: - Private

    private func consume(_ result: OpaquePointer?, context: String) throws -> QueryResult {
        guard let result else {
            throw PostgresError(sqlState: nil, message: Self.trimmed(PQerrorMessage(handle)), detail: nil, context: context)
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            break
        default:
            throw error(from: result, context: context)
        }
        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        var rows: [[String?]] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            rows.append((0..<columnCount).map { column in
                PQgetisnull(result, Int32(row), Int32(column)) == 1
                    ? nil
                    : String(cString: PQgetvalue(result, Int32(row), Int32(column)))
            })
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return QueryResult(columns: columns, rows: rows, affectedRows: affected)
    }

    private func error(from result: OpaquePointer?, context: String) -> PostgresError {
        func field(_ code: Int32) -> String? {
            guard let result, let value = PQresultErrorField(result, code) else { return nil }
            return String(cString: value)
        }
        let message = field(Int32(UInt8(ascii: "M"))) ?? Self.trimmed(PQerrorMessage(handle))
        return PostgresError(
            sqlState: field(Int32(UInt8(ascii: "C"))),
            message: message,
            detail: field(Int32(UInt8(ascii: "D"))),
            context: context
        )
    }

    private static func trimmed(_ message: UnsafePointer<CChar>?) -> String {
        guard let message else { return "unknown error" }
        return String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
            .replacingOccurrences(of: "\n", with: " ")
    }
}

/// PQcancel is documented as safe to call from another thread (even a signal handler).
private final class CancelToken: @unchecked Sendable {
    private let cancel: OpaquePointer
    private let owned: Bool
    private let lock = NSLock()
    private var sent = false
    /// `owned`: this token frees the PGcancel object when it goes away.
    init(_ cancel: OpaquePointer, owned: Bool = false) {
        self.cancel = cancel
        self.owned = owned
    }
    convenience init(owning cancel: OpaquePointer) { self.init(cancel, owned: true) }
    deinit { if owned { PQfreeCancel(cancel) } }
    var wasSent: Bool { lock.withLock { sent } }
    func send() {
        lock.withLock { sent = true }
        var buffer = [CChar](repeating: 0, count: 256)
        _ = PQcancel(cancel, &buffer, Int32(buffer.count))
    }
}

private func withCStringArray<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let pointers: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0)! } }
    defer { pointers.forEach { free($0) } }
    return body(pointers.map { $0.map { UnsafePointer($0) } })
}
