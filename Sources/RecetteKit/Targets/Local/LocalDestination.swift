import Foundation
import RecetteWorld

/// The `local` target: recette's own cluster.
public struct LocalDestination: RestoreDestination {
    public let cluster: LocalCluster
    public let jobs: Int
    public let bulkLoad: Bool
    private let port: LockedValue<Int?> = LockedValue(nil)
    private let bulkLoadHold: LockedValue<LocalCluster.BulkLoadHold?> = LockedValue(nil)

    public init(cluster: LocalCluster, jobs: Int, bulkLoad: Bool = true) {
        self.cluster = cluster
        self.jobs = jobs
        self.bulkLoad = bulkLoad
    }

    public var targetName: String { "local" }
    public var serverDescription: String { "the local server" }
    public var maintenanceDatabase: String { "postgres" }
    public var keepsPreviousDatabase: Bool { false }
    public var holdsThrowawayCopies: Bool { true }
    public var serverFilesAreHere: Bool { true }
    public var bulkLoadSettings: [(String, String)] { bulkLoad ? LocalCluster.bulkLoadSettings(jobs: jobs) : [] }

    public func prepare() async throws {
        let status = try await cluster.start()
        guard let port = status.port else { throw RecetteFailure("the local PostgreSQL server runs but its port is unknown; run 'recette local stop' then retry") }
        self.port.set(port)
    }

    private func requirePort() throws -> Int {
        guard let port = port.get() else { throw RecetteFailure("the local server was not prepared") }
        return port
    }

    public func connectionString(database: String) throws -> String { cluster.url(database: database, port: try requirePort()) }
    public func displayURL(database: String) throws -> String { cluster.url(database: database, port: try requirePort()) }
    public func clientEnvironment(database: String) throws -> [String: String] { cluster.clientEnvironment(database: database, port: try requirePort()) }
    public func applySettings(_ settings: [(String, String)]) async throws {
        bulkLoadHold.set(try await cluster.beginBulkLoad(settings, port: try requirePort()))
    }

    /// Once per restore, whichever path it ends by; the last restore into the cluster resets.
    public func resetSettings(_ names: [String]) async throws {
        var hold: LocalCluster.BulkLoadHold?
        bulkLoadHold.mutate { hold = $0; $0 = nil }
        guard let hold else { return }
        try await cluster.endBulkLoad(hold, resetting: names, port: try requirePort())
    }
}

/// Restores into the `local` target.
public struct LocalRestore: Sendable {
    public var context: RecetteContext
    public var database: String
    public var options: RestoreOptions
    public var bulkLoad = true

    public init(context: RecetteContext, database: String? = nil, jobs: Int? = nil, options: RestoreOptions? = nil) {
        self.context = context
        self.database = database ?? context.configuration.text(.localDatabase)
        var options = options ?? RestoreOptions()
        if let jobs { options.jobs = jobs }
        self.options = options
    }

    public var jobs: Int { options.jobs }

    public func restore(archiveFile: URL) async throws -> RestoreOutcome {
        let destination = LocalDestination(cluster: context.localCluster, jobs: options.jobs, bulkLoad: bulkLoad)
        return try await DatabaseRestore(context: context, destination: destination, database: database, options: options).restore(archiveFile: archiveFile)
    }
}
