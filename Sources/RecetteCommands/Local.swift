import ArgumentParser
import RecetteKit
import RecetteWorld

struct Local: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the local target: recette's own PostgreSQL cluster under .recette/local/.",
        discussion: """
        The local target needs no Docker: recette initialises a cluster with this machine's
        initdb/pg_ctl and runs it on a free port of 127.0.0.1 (as the postgres user when run as
        root). Its password is kept in .recette/local/pgpass; the printed DATABASE_URL points
        to that file, so it holds no secret and works with psql as it is.

        Examples:
          recette local start
          psql "$(recette local status --url)"
        """.reflowed,
        subcommands: [Start.self, Stop.self, Status.self]
    )

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Initialise (first time) and start the local cluster; print its DATABASE_URL.")
        @OptionGroup(title: "Common options") var common: CommonOptions

        func run() async throws {
            try await CommandRunner.run(common) { context in
                let cluster = context.localCluster
                if context.dryRun {
                    context.output.write("would initialise (if needed) and start PostgreSQL in \(cluster.dataDirectory.path)")
                    return
                }
                let created = try await cluster.initializeIfNeeded()
                if created { context.logger.info("initialised a new cluster in \(cluster.dataDirectory.path)") }
                let status = try await cluster.start()
                guard let port = status.port else { throw RecetteFailure("the local PostgreSQL server started but its port is unknown; see \(cluster.logFile.path)") }
                let database = context.configuration.text(.localDatabase)
                try cluster.createDatabaseIfMissing(database, port: port)
                context.output.write("DATABASE_URL=\(cluster.url(database: database, port: port))")
            }
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the local cluster (its data stays).")
        @OptionGroup(title: "Common options") var common: CommonOptions

        func run() async throws {
            try await CommandRunner.run(common) { context in
                if context.dryRun {
                    context.output.write("would stop the PostgreSQL server of \(context.localCluster.dataDirectory.path)")
                    return
                }
                try await context.localCluster.stop()
                context.output.write("stopped")
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show whether the local cluster exists and runs, and its DATABASE_URL.")
        @OptionGroup(title: "Common options") var common: CommonOptions
        @Flag(help: "Print only the DATABASE_URL (exit 1 when the cluster is not running).")
        var url = false

        func run() async throws {
            try await CommandRunner.run(common) { context in
                let cluster = context.localCluster
                let before = try await cluster.status()
                let status = try await cluster.resetAbandonedBulkLoad(before)
                let database = context.configuration.text(.localDatabase)
                if url {
                    guard status.running, let port = status.port else { throw RecetteFailure("the local cluster is not running; start it with 'recette local start'") }
                    context.output.write(cluster.url(database: database, port: port))
                    return
                }
                context.output.write("directory: \(cluster.directory.path)")
                context.output.write("initialised: \(status.initialized ? "yes (PostgreSQL \(status.serverVersion ?? "?"))" : "no")")
                context.output.write("running: \(status.running ? "yes" : "no")")
                if !status.bulkLoadSettingsOn.isEmpty {
                    // Unsafe for anything but a throwaway load: say so, and who resets them.
                    context.output.write("bulk-load settings: on (\(status.bulkLoadSettingsOn.joined(separator: ", "))): "
                        + (status.running ? "a restore is loading; they are reset when it ends"
                                          : "left by a restore that did not finish; 'recette local start' resets them"))
                } else if before.bulkLoadSettingsOn != status.bulkLoadSettingsOn {
                    context.output.write("bulk-load settings: reset (\(before.bulkLoadSettingsOn.joined(separator: ", ")) were left on by a restore that did not finish)")
                }
                if status.running, let port = status.port {
                    context.output.write("DATABASE_URL=\(cluster.url(database: database, port: port))")
                }
            }
        }
    }
}
