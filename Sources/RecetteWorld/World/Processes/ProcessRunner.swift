import Foundation
import Logging
import Subprocess
import Synchronization
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// What happens to a child's standard output.
public enum StandardOutputHandling: Sendable {
    /// Keep it, up to `limit` bytes (more is an error: pick `lines` or `discard`).
    case collect(limit: Int = 16 << 20)
    /// Hand each line to the closure as it arrives.
    case lines(@Sendable (String) -> Void)
    /// Hand each chunk to the closure as it arrives, waiting for it before reading more (a
    /// slow consumer holds the child back through the pipe); a thrown error stops the child.
    case chunks(@Sendable (Data) async throws -> Void)
    case discard
}

public struct ProcessResult: Sendable {
    public var exitStatus: Int32
    public var standardOutput: Data
    /// The last lines the child wrote to standard error.
    public var standardErrorTail: [String]

    public var outputText: String { String(decoding: standardOutput, as: UTF8.self) }
}

public enum ProcessError: Error, CustomStringConvertible {
    case notFound(command: String)
    case failed(command: String, status: Int32, standardErrorTail: [String])
    case killedBySignal(command: String, signal: Int32, standardErrorTail: [String])
    case outputTooLarge(command: String, limit: Int)
    case launchFailed(command: String, reason: String)

    public var description: String {
        switch self {
        case .notFound(let command):
            return "\(command): command not found; install it or put it on PATH (see 'recette doctor')"
        case .failed(let command, let status, let tail):
            let last = tail.last(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty })
            return "`\(command)` exited with status \(status)" + (last.map { ": \($0)" } ?? "")
        case .killedBySignal(let command, let signal, _):
            return "`\(command)` was killed by signal \(signal)"
        case .outputTooLarge(let command, let limit):
            return "`\(command)` wrote more than \(limit) bytes to standard output"
        case .launchFailed(let command, let reason):
            return "could not start `\(command)`: \(reason)"
        }
    }

    public var standardErrorTail: [String] {
        switch self {
        case .failed(_, _, let tail), .killedBySignal(_, _, let tail): tail
        default: []
        }
    }
}

/// Runs child processes. Injected everywhere so tests can drive the outside world.
public protocol ProcessRunning: Sendable {
    /// Runs `command` to completion. A non-zero exit status throws `ProcessError.failed`
    /// unless it is listed in `acceptedExitStatuses`. Cancelling the calling task terminates
    /// the child (SIGTERM, then SIGKILL after a grace period).
    func run(
        _ command: Command,
        input: Data?,
        output: StandardOutputHandling,
        onStandardErrorLine: (@Sendable (String) -> Void)?,
        acceptedExitStatuses: Set<Int32>
    ) async throws -> ProcessResult

    /// Like `run`, with standard input written as the child reads it: `input` gets a `write`
    /// that waits while the pipe is full (back-pressure) and throws `StandardInputClosed`
    /// once the child no longer reads (it exited or closed it); standard input is closed when
    /// `input` returns.
    func run(
        _ command: Command,
        streamingInput input: @escaping @Sendable (_ write: @escaping StandardInputWrite) async throws -> Void,
        output: StandardOutputHandling,
        onStandardErrorLine: (@Sendable (String) -> Void)?,
        acceptedExitStatuses: Set<Int32>
    ) async throws -> ProcessResult
}

/// Writes bytes to a child's standard input, waiting while its pipe is full.
public typealias StandardInputWrite = @Sendable ([UInt8]) async throws -> Void

/// The child no longer reads its standard input: it exited, or closed it. Its exit status
/// says more.
public struct StandardInputClosed: Error, CustomStringConvertible {
    public var description: String { "the child process stopped reading its standard input" }
}

extension ProcessRunning {
    /// A runner that cannot stream (a test's scripted one) refuses, naming the command:
    /// failing closed rather than running it some other way.
    public func run(
        _ command: Command,
        streamingInput input: @escaping @Sendable (_ write: @escaping StandardInputWrite) async throws -> Void,
        output: StandardOutputHandling,
        onStandardErrorLine: (@Sendable (String) -> Void)?,
        acceptedExitStatuses: Set<Int32>
    ) async throws -> ProcessResult {
        throw ProcessError.launchFailed(command: command.description, reason: "this process runner cannot stream a standard input")
    }

    /// Runs and collects standard output; any non-zero exit status throws.
    @discardableResult
    public func run(_ command: Command, input: Data? = nil) async throws -> ProcessResult {
        try await run(command, input: input, output: .collect(), onStandardErrorLine: nil, acceptedExitStatuses: [0])
    }

    /// Standard output as trimmed text.
    public func output(of command: Command) async throws -> String {
        try await run(command).outputText.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// The real thing, on swift-subprocess.
public struct SubprocessRunner: ProcessRunning {
    /// Receives each command line (secrets are never in it) at debug level: `--verbose`.
    public var logger: Logger?
    /// Lines of standard error kept for error messages.
    public var standardErrorTailLength = 20
    /// How long a child gets between SIGTERM and SIGKILL when its task is cancelled.
    public var terminationGracePeriod: Duration = .seconds(5)

    /// The environment children start from (and find programs in, by its PATH); nil: this
    /// process's own. A command run in-process in a test's world gets that world's.
    public var baseEnvironment: [String: String]?

    public init(logger: Logger? = nil, baseEnvironment: [String: String]? = nil) {
        self.logger = logger
        self.baseEnvironment = baseEnvironment
    }

    private func childEnvironment(_ extra: [String: String]) -> Subprocess.Environment {
        func keyed(_ values: [String: String]) -> [Subprocess.Environment.Key: String] {
            Dictionary(uniqueKeysWithValues: values.map { (Subprocess.Environment.Key(stringLiteral: $0.key), $0.value) })
        }
        guard let baseEnvironment else { return .inherit.updating(keyed(extra).mapValues { Optional($0) }) }
        return .custom(keyed(baseEnvironment.merging(extra) { $1 }))
    }

    public func run(
        _ command: Command,
        input: Data?,
        output: StandardOutputHandling,
        onStandardErrorLine: (@Sendable (String) -> Void)?,
        acceptedExitStatuses: Set<Int32>
    ) async throws -> ProcessResult {
        try await launch(command, input: .data(input), output: output, onStandardErrorLine: onStandardErrorLine, acceptedExitStatuses: acceptedExitStatuses)
    }

    public func run(
        _ command: Command,
        streamingInput input: @escaping @Sendable (_ write: @escaping StandardInputWrite) async throws -> Void,
        output: StandardOutputHandling,
        onStandardErrorLine: (@Sendable (String) -> Void)?,
        acceptedExitStatuses: Set<Int32>
    ) async throws -> ProcessResult {
        try await launch(command, input: .stream(input), output: output, onStandardErrorLine: onStandardErrorLine, acceptedExitStatuses: acceptedExitStatuses)
    }

    private enum StandardInputSource: Sendable {
        case data(Data?)
        case stream(@Sendable (_ write: @escaping StandardInputWrite) async throws -> Void)
    }

    private func launch(
        _ command: Command,
        input: StandardInputSource,
        output: StandardOutputHandling,
        onStandardErrorLine: (@Sendable (String) -> Void)?,
        acceptedExitStatuses: Set<Int32>
    ) async throws -> ProcessResult {
        var command = command
        var environment = command.environment
        if let user = command.user, user.uid != geteuid() {
            // Switching user inside swift-subprocess's spawn (PlatformOptions.userID/groupID)
            // calls setgroups()/setuid() in a child created without glibc's fork bookkeeping;
            // glibc then waits for the parent's other threads and the child hangs for ever
            // (seen here). setpriv switches identity in a fresh single-threaded process instead.
            command.arguments = ["--reuid=\(user.uid)", "--regid=\(user.gid)", "--init-groups", "--", command.executable] + command.arguments
            command.executable = "setpriv"
            environment["HOME"] = user.home
            environment["USER"] = user.name
            environment["LOGNAME"] = user.name
        }
        let commandLine = command.description
        logger?.debug("run: \(commandLine)")
        let executable: Executable = command.executable.contains("/")
            ? .path(FilePath(command.executable))
            : .name(command.executable)
        var platformOptions = PlatformOptions()
        // Each child leads its own process group, so termination reaches what it started too
        // (pg_restore's parallel workers, the members of a pipeline).
        platformOptions.createSession = true
        platformOptions.teardownSequence = [.gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: terminationGracePeriod)]
        let configuration = Subprocess.Configuration(
            executable: executable,
            arguments: Arguments(command.arguments),
            environment: childEnvironment(environment),
            workingDirectory: command.workingDirectory.map { FilePath($0) },
            platformOptions: platformOptions
        )
        let tail = LineTail(capacity: standardErrorTailLength)
        let collected = OutputCollector()
        let status: TerminationStatus
        // The child's group, for the guardian (children die with recette, even by kill -9);
        // released once run() has reaped the child, so the guardian never holds a dead group.
        let group = Mutex<pid_t?>(nil)
        defer { if let leader = group.withLock({ $0 }) { ChildGuardian.shared.release(leader) } }
        do {
            // Standard input is always a writer: it carries `input` when there is some, and
            // is closed at once otherwise, so the child sees end-of-file instead of a terminal.
            status = try await Subprocess.run(configuration, input: .inputWriter, output: .sequence, error: .sequence) { execution in
                // createSession: the child leads its own group, whose id is its pid.
                let leader = execution.processIdentifier.value
                group.withLock { $0 = leader }
                ChildGuardian.shared.watch(leader)
                let writer = execution.standardInputWriter
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        switch input {
                        case .data(let data):
                            if let data { _ = try await writer.write(Array(data)) }
                        case .stream(let produce):
                            try await produce { bytes in
                                // EPIPE (SIGPIPE is ignored), or a short write once the child
                                // is gone: either way it reads no more.
                                let written: Int
                                do { written = try await writer.write(bytes) } catch { throw StandardInputClosed() }
                                guard written == bytes.count else { throw StandardInputClosed() }
                            }
                        }
                        try await writer.finish()
                    }
                    group.addTask {
                        let splitter = LineSplitter()
                        let emit: (String) -> Void = { line in
                            tail.append(line)
                            onStandardErrorLine?(line)
                        }
                        for try await buffer in execution.standardError {
                            buffer.withUnsafeBytes { splitter.feed($0, emit: emit) }
                        }
                        splitter.finish(emit: emit)
                    }
                    group.addTask {
                        switch output {
                        case .discard:
                            for try await _ in execution.standardOutput {}
                        case .lines(let handler):
                            let splitter = LineSplitter()
                            for try await buffer in execution.standardOutput {
                                buffer.withUnsafeBytes { splitter.feed($0, emit: handler) }
                            }
                            splitter.finish(emit: handler)
                        case .chunks(let handler):
                            for try await buffer in execution.standardOutput {
                                try await handler(buffer.withUnsafeBytes { Data($0) })
                            }
                        case .collect(let limit):
                            for try await buffer in execution.standardOutput {
                                try buffer.withUnsafeBytes { bytes in
                                    guard collected.append(bytes, limit: limit) else {
                                        throw ProcessError.outputTooLarge(command: commandLine, limit: limit)
                                    }
                                }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }.terminationStatus
        } catch let error as SubprocessError {
            if error.code == .executableNotFound {
                throw ProcessError.notFound(command: command.name)
            }
            throw ProcessError.launchFailed(command: command.description, reason: "\(error)")
        }
        try Task.checkCancellation()
        switch status {
        case .exited(let code):
            guard acceptedExitStatuses.contains(code) else {
                throw ProcessError.failed(command: command.description, status: code, standardErrorTail: tail.lines)
            }
            return ProcessResult(exitStatus: code, standardOutput: collected.data, standardErrorTail: tail.lines)
        case .signaled(let signal):
            throw ProcessError.killedBySignal(command: command.description, signal: signal, standardErrorTail: tail.lines)
        }
    }

}

/// Cuts a byte stream into lines. Unlike swift-subprocess's `strings()`, a very long line is
/// not an error (which would stop the reading and leave the child blocked on a full pipe):
/// it is handed over in pieces of at most `maximumLineLength` bytes.
final class LineSplitter {
    private var pending: [UInt8] = []
    private let maximumLineLength: Int

    init(maximumLineLength: Int = 64 * 1024) { self.maximumLineLength = maximumLineLength }

    func feed(_ bytes: UnsafeRawBufferPointer, emit: (String) -> Void) {
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                flush(emit)
            } else {
                pending.append(byte)
                if pending.count >= maximumLineLength { flush(emit) }
            }
        }
    }

    func finish(emit: (String) -> Void) {
        if !pending.isEmpty { flush(emit) }
    }

    private func flush(_ emit: (String) -> Void) {
        if pending.last == UInt8(ascii: "\r") { pending.removeLast() }
        emit(String(decoding: pending, as: UTF8.self))
        pending.removeAll(keepingCapacity: true)
    }
}

/// Keeps the last `capacity` lines; shared between the reading task and the caller.
package final class LineTail: Sendable {
    private let buffer = Mutex<[String]>([])
    private let capacity: Int

    package init(capacity: Int) { self.capacity = capacity }

    package func append(_ line: String) {
        buffer.withLock { buffer in
            buffer.append(line)
            if buffer.count > capacity { buffer.removeFirst(buffer.count - capacity) }
        }
    }

    package var lines: [String] { buffer.withLock { $0 } }
}

final class OutputCollector: Sendable {
    private let storage = Mutex(Data())

    func append(_ bytes: UnsafeRawBufferPointer, limit: Int) -> Bool {
        storage.withLock { storage in
            guard storage.count + bytes.count <= limit else { return false }
            storage.append(contentsOf: bytes)
            return true
        }
    }

    var data: Data { storage.withLock { $0 } }
}
