import Foundation
import RecetteWorld

/// `recette reset --pristine` and populate's `reset` step: the target's template checked,
/// cloned and swapped in, in seconds.
public struct PristineReset: Sendable {
    public var context: RecetteContext
    public var target: any Target
    /// The template was made with `--keep-wiring`.
    public var keepWiring: Bool
    public var cms: CMSAroundSwap

    public init(context: RecetteContext, target: any Target, keepWiring: Bool = false, cms: CMSAroundSwap = .stopAndRestart) {
        self.context = context
        self.target = target
        self.keepWiring = keepWiring
        self.cms = cms
    }

    /// What a reset would do, for `--dry-run`; connects to nothing.
    public func plan() async throws -> String {
        let (server, database) = try await target.templateServer(for: "reset --pristine", cms: cms)
        let template = try PristineTemplate(database: database)
        let quoted = PostgresConnection.quoteIdentifier
        let copy = server.keepsSpare
            ? "rename its ready copy \(quoted(template.names.spare)) to \(quoted(template.names.incoming)) (or, without one, CREATE DATABASE \(quoted(template.names.incoming)) TEMPLATE \(quoted(template.name))), "
            : "CREATE DATABASE \(quoted(template.names.incoming)) TEMPLATE \(quoted(template.name)), "
        return "on \(server.serverDescription): check that \(quoted(template.name)) was made with today's prepare settings, " + copy
            + (server.aroundSwapPlan.map { $0 + ", " } ?? "")
            + "end the sessions connected to '\(database)', rename the copy into place (the replaced one \(server.keepsPreviousDatabase ? "kept under a dated name" : "dropped"))"
            + (server.keepsSpare ? ", start the next ready copy in the background" : "")
    }

    /// Runs the reset; `confirm` (question, action) is asked before anything changes where the
    /// server asks for it. Returns the lines to print and the outcome.
    public func run(confirm: ((String, String) throws -> Void)?) async throws -> (lines: [String], outcome: PristineSwap.Outcome) {
        let (server, database) = try await target.templateServer(for: "reset --pristine", cms: cms)
        let template = try PristineTemplate(database: database)
        try await server.prepare()
        if let confirm, server.asksConfirmation {
            try confirm("Replace database '\(database)' with a copy of its pristine template '\(template.name)'?", "replace database '\(database)'")
        }
        let admin = AdminAccess(context.configuration)
        let prepare = try PristineTemplate.prepareSettings(context.configuration, localWiring: !keepWiring, target: target.kind.rawValue)
        let outcome = try await PristineSwap(server: server, template: template, logger: context.logger)
            .run(prepare: prepare, startedAt: context.now(), refresh: admin.map { admin in { try await admin.refresh(query: $0.query) } })
        let size = ByteCountFormatter.string(fromByteCount: outcome.bytes, countStyle: .binary)
        let how = outcome.fromSpare ? "the ready copy of '\(template.name)' (\(size)) renamed into place" : "\(size) cloned from '\(template.name)'"
        var lines = ["'\(database)' is the pristine copy again (\(how) in \(String(format: "%.1f", outcome.seconds)) s"
                     + (outcome.endedSessions > 0 ? ", \(outcome.endedSessions) session(s) ended" : "") + ")"]
        if outcome.nextSpare { lines.append("the next ready copy is being made in the background ('\(template.names.spare)', RECETTE_PRISTINE_SPARE=false goes without)") }
        if let note = outcome.note { lines.append(note) }
        if let previous = outcome.previousDatabase { lines.append("previous database kept as '\(previous)' (dropped by the next run, or now with --drop-previous)") }
        let location = try server.displayURL(database: database)
        lines.append(location.hasPrefix("postgres") ? "DATABASE_URL=\(location)" : "the copy is in \(location)")
        return (lines, outcome)
    }
}
