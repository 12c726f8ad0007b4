import Foundation
import RecetteWorld

/// Reads a dump's table of contents with the machine's `pg_restore --list`: if that fails,
/// pg_restore could not restore it either.
public struct DumpReader: Sendable {
    let pgRestore: String
    let runner: any ProcessRunning

    public init(pgRestore: String, runner: any ProcessRunning) {
        self.pgRestore = pgRestore
        self.runner = runner
    }

    public func tableOfContents(of dump: URL, describedAs name: String) async throws -> TableOfContents {
        let result: ProcessResult
        do {
            result = try await runner.run(Command(pgRestore, ["--list", dump.path]), input: nil, output: .collect(limit: 256 << 20), onStandardErrorLine: nil, acceptedExitStatuses: [0])
        } catch let error as ProcessError {
            let reason = error.standardErrorTail.last(where: { !$0.isEmpty })?
                .replacingOccurrences(of: "pg_restore: error: ", with: "")
                .replacingOccurrences(of: "pg_restore: ", with: "") ?? error.description
            throw RecetteFailure("pg_restore cannot read the dump \(name): \(reason); the backup may be damaged or not a custom-format (pg_dump -Fc) dump")
        }
        let toc = TableOfContents.parse(result.outputText)
        guard toc.format != nil || !toc.entries.isEmpty else {
            throw RecetteFailure("pg_restore listed nothing in the dump \(name); it is empty or not a PostgreSQL dump")
        }
        return toc
    }
}
