import Foundation
import RecetteWorld

/// One generated file compared with what is on disk.
public struct GeneratedFileState: Sendable, Equatable {
    public enum Status: Sendable, Equatable {
        case upToDate
        case missing
        case differs
        /// Same contents, but the script lost its executable bit.
        case notExecutable
    }

    public var file: GeneratedFile
    public var url: URL
    public var status: Status
    /// The file on disk does not carry `ProjectTemplates.marker`: someone's own file, which
    /// `recette generate` overwrites only with `--force`.
    public var isForeign: Bool

    public var isStale: Bool { status != .upToDate }
}

/// `recette generate`: renders the templates from the project's committed configuration,
/// says which files are stale (with a unified diff), and writes them atomically.
public struct GeneratedFiles: Sendable {
    public let projectDirectory: URL
    public let files: [GeneratedFile]
    private let runner: any ProcessRunning

    /// Renders from `recette.yml` and the defaults of `projectDirectory` (never the
    /// environment or `.env`: see `Configuration.committed`).
    public init(projectDirectory: URL, runner: any ProcessRunning) throws {
        self.projectDirectory = projectDirectory
        self.files = try ProjectTemplates.render(Configuration.committed(projectDirectory: projectDirectory))
        self.runner = runner
    }

    public func url(of file: GeneratedFile) -> URL {
        file.path.hasPrefix("/") ? URL(fileURLWithPath: file.path) : projectDirectory.appendingPathComponent(file.path)
    }

    public func states() throws -> [GeneratedFileState] {
        try files.map { file in
            let url = url(of: file)
            guard FileManager.default.fileExists(atPath: url.path) else {
                return GeneratedFileState(file: file, url: url, status: .missing, isForeign: false)
            }
            let existing: Data
            do {
                existing = try Data(contentsOf: url)
            } catch {
                throw RecetteFailure("cannot read \(file.path): \(error.localizedDescription); check its permissions")
            }
            let isForeign = !String(decoding: existing.prefix(2048), as: UTF8.self).contains(ProjectTemplates.marker)
            let status: GeneratedFileState.Status
            if existing != Data(file.contents.utf8) {
                status = .differs
            } else if file.isExecutable && !FileManager.default.isExecutableFile(atPath: url.path) {
                status = .notExecutable
            } else {
                status = .upToDate
            }
            return GeneratedFileState(file: file, url: url, status: status, isForeign: isForeign)
        }
    }

    /// A unified diff from the file on disk (`a/`) to what would be generated (`b/`), by the
    /// system's `diff -u`.
    public func diff(_ state: GeneratedFileState) async throws -> String {
        switch state.status {
        case .upToDate:
            return ""
        case .notExecutable:
            return "\(state.file.path): not executable (expected mode 755)\n"
        case .missing, .differs:
            let old = state.status == .missing ? "/dev/null" : state.url.path
            let command = Command("diff", ["-u", "--label", "a/\(state.file.path)", "--label", "b/\(state.file.path)", old, "-"])
            let result = try await runner.run(command, input: Data(state.file.contents.utf8), output: .collect(), onStandardErrorLine: nil,
                                              acceptedExitStatuses: [0, 1])
            return result.outputText
        }
    }

    /// Writes `state`'s file: a temporary file beside it, then a rename, so a reader (or an
    /// interrupted run) sees the old file or the new one, never half of one. The script is
    /// written executable.
    public func write(_ state: GeneratedFileState) throws {
        try AtomicFile.write(Data(state.file.contents.utf8), to: state.url, permissions: state.file.isExecutable ? 0o755 : 0o644)
    }
}
