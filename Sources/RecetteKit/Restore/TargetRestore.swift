import Foundation

/// Where a restore goes, as the configuration names it (RECETTE_TARGET).
public enum RestoreTargetKind: String, Sendable, CaseIterable, Codable {
    case local, compose, url

    public static func configured(_ configuration: Configuration) throws -> RestoreTargetKind {
        let name = configuration[.target] ?? "local"
        guard let target = RestoreTargetKind(rawValue: name) else {
            throw RecetteFailure("RECETTE_TARGET='\(name)' is not a target; use local, compose or url")
        }
        return target
    }
}

/// A restore into the configured target: the one entry point `restore` and `populate` share.
public struct TargetRestore: Sendable {
    public var context: RecetteContext
    public var options: RestoreOptions
    /// The url target's URL came from `--target-url` (a deliberate choice, required for a
    /// server that is not this machine).
    public var urlNamedOnCommandLine: Bool
    public var dropPrevious: Bool

    public init(context: RecetteContext, options: RestoreOptions, urlNamedOnCommandLine: Bool = false, dropPrevious: Bool = false) {
        self.context = context
        self.options = options
        self.urlNamedOnCommandLine = urlNamedOnCommandLine
        self.dropPrevious = dropPrevious
    }

    public var target: RestoreTargetKind { get throws { try RestoreTargetKind.configured(context.configuration) } }

    /// What a restore of `file` would do, touching nothing (the compose plan is read-only).
    public func plan(file: URL) async throws -> [String] {
        let flags = "pg_restore --no-owner --no-privileges --jobs=\(options.jobs)" + (options.unlogged ? " (schema, then SET UNLOGGED on every table, then rows and indexes)" : "")
        switch try target {
        case .compose:
            let reset = try await ComposeDatabaseReset.configured(by: context)
            let plan = try await reset.plan()
            return ["check \(file.path) (also against the pg_restore of the '\(reset.service)' image), then:"] + plan.lines
                + ["copy the dump into the container and run \(flags) there"] + (try PreparePhase(options: options, configuration: context.configuration, target: "compose").planLines)
        case .local, .url:
            let (destination, database) = try destination()
            try destination.check(options)
            let names = try DerivedDatabaseNames(base: database)
            return ["check \(file.path), restore it into a new database '\(names.incoming)' on \(destination.serverDescription) with \(flags), then rename it to '\(database)'"
                    + (destination.keepsPreviousDatabase ? ", keeping the replaced one under a dated name" : ", dropping the replaced one")]
                + (try PreparePhase(options: options, configuration: context.configuration, target: destination.targetName).planLines)
                    .map { $0 + " (in the new database, before the rename)" }
        }
    }

    /// Checks `file`, then restores it. `confirmReset` is asked before a compose volume is
    /// deleted (after the backup is known good).
    public func restore(file: URL, confirmReset: (ComposeResetPlan) throws -> Void) async throws -> RestoreOutcome {
        switch try target {
        case .compose:
            let reset = try await ComposeDatabaseReset.configured(by: context)
            return try await ComposeRestore(context: context, reset: reset, options: options).restore(archiveFile: file, confirm: confirmReset)
        case .local, .url:
            let (destination, database) = try destination()
            return try await DatabaseRestore(context: context, destination: destination, database: database, options: options).restore(archiveFile: file)
        }
    }

    /// The server and database of the local and url targets (the compose target has its own
    /// path: `compose` names what it is asked for in the message).
    public func destination(for what: String = "") throws -> (any RestoreDestination, String) {
        switch try target {
        case .compose:
            guard !what.isEmpty else { preconditionFailure("the compose target restores through ComposeRestore") }
            throw RecetteFailure("\(what) is not built for the compose target yet (its restore keeps no pristine template); use the local or url target, or 'recette restore' again")
        case .local:
            return (LocalDestination(cluster: context.localCluster, jobs: options.jobs), context.configuration[.localDatabase] ?? "recette")
        case .url:
            let destination = try URLDestination.configured(by: context, namedOnCommandLine: urlNamedOnCommandLine, dropPrevious: dropPrevious)
            return (destination, destination.target.database)
        }
    }
}
