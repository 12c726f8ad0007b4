import Foundation
import RecetteWorld

/// Where a restore goes, as the configuration names it (RECETTE_TARGET).
public enum RestoreTargetKind: String, Sendable, CaseIterable, Codable {
    case local, compose, url

    public static func configured(_ configuration: Configuration) throws -> RestoreTargetKind {
        try configuration.choice(.target, as: RestoreTargetKind.self)
    }
}

/// One of the three places recette makes a copy in, resolved once per run from the settings
/// (`Targets.resolve`). Everything that differs between them is here; the pipeline, the
/// commands and the search ask the target instead of switching on its name.
public protocol Target: Sendable {
    var kind: RestoreTargetKind { get }
    /// What a restore of `file` would do, touching nothing (first line: the main action).
    func restorePlan(file: URL, options: RestoreOptions) async throws -> [String]
    /// Checks `file`, then restores it. `confirmReset` is asked before a compose volume is
    /// deleted (after the backup is known good).
    func restore(file: URL, options: RestoreOptions, confirmReset: (ComposeResetPlan) throws -> Void) async throws -> RestoreOutcome
    /// `recette reset`: the database emptied (each target's way), after `confirm`; with
    /// `--dry-run` the plan lines only. Returns the lines to print.
    func resetDatabase(waitTimeout: Duration, confirm: (_ question: String, _ action: String) throws -> Void) async throws -> [String]
    /// The server and database holding the pristine template (`reset --pristine`, `pristine …`).
    /// `what` names the command in a refusal; `cms` says what a swap does with the target's CMS.
    func templateServer(for what: String, cms: CMSAroundSwap) async throws -> (server: any PristineServer, database: String)
    /// The rows the search indexes are read from (the restored database).
    func searchRows() async throws -> any SearchRowSource
    /// The target runs a CMS (compose: its service), which `populate` starts.
    var runsCMS: Bool { get }
    /// The CMS the target runs and `populate` starts; nil when none.
    func cms() async throws -> CMSStarter?
    /// The CMS's environment, to explain its plugin's batch size; empty when unknown.
    func cmsEnvironment() async -> [String: String]
}

extension Target {
    public var runsCMS: Bool { false }
    public func cms() async throws -> CMSStarter? { nil }
    public func cmsEnvironment() async -> [String: String] { [:] }

    /// The local and url targets' restore plan: a new database swapped in.
    func swapRestorePlan(_ destination: any RestoreDestination, database: String, file: URL, options: RestoreOptions,
                         configuration: Configuration) throws -> [String] {
        try destination.check(options)
        let names = try DerivedDatabaseNames(base: database)
        return ["check \(file.path), restore it into a new database '\(names.incoming)' on \(destination.serverDescription) with \(Targets.pgRestoreFlags(options)), then rename it to '\(database)'"
                + (destination.keepsPreviousDatabase ? ", keeping the replaced one under a dated name" : ", dropping the replaced one")]
            + (try PreparePhase(localWiring: options.localWiring, configuration: configuration, target: destination.targetName).planLines)
                .map { $0 + " (in the new database, before the rename)" }
    }
}

public enum Targets {
    /// The configured target. A url target's URL given as a flag (`--target-url`) is a
    /// deliberate choice, which a server that is not this machine requires.
    public static func resolve(_ context: RecetteContext, dropPrevious: Bool = false) throws -> any Target {
        switch try RestoreTargetKind.configured(context.configuration) {
        case .local: return LocalTarget(context: context)
        case .compose: return ComposeTarget(context: context)
        case .url:
            let named = context.configuration.resolved(.databaseURL)?.source == .flag
            return URLTarget(context: context, namedOnCommandLine: named, dropPrevious: dropPrevious)
        }
    }

    static func pgRestoreFlags(_ options: RestoreOptions) -> String {
        "pg_restore --no-owner --no-privileges --jobs=\(options.jobs)" + (options.unlogged ? " (schema, then SET UNLOGGED on every table, then rows and indexes)" : "")
    }
}
