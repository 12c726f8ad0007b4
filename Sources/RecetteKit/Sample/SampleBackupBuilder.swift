import Foundation
import Logging
import RecetteWorld

/// A backup built by `SampleBackupBuilder`, and the counts a restore of it must show.
public struct SampleBackup: Sendable {
    public var archive: URL
    public var expectedRowCounts: [String: Int]
    public var expectedPublishedCounts: [String: Int]
    public var ownerRole: String

    /// The counts a restore shows once its prepare phase ran (the default): the Meilisearch
    /// plugin's stored host and key rows are removed from the core store.
    public var expectedRowCountsAfterPrepare: [String: Int] {
        var counts = expectedRowCounts
        counts["strapi_core_store_settings", default: 0] -= LocalWiring.storeKeys.count
        return counts
    }
}

/// Builds a Strapi-v4-shaped (or v5-shaped) "recette" database, dumps it with `pg_dump -Fc`, and packs it
/// the way Scalingo does: `<timestamp>_<app>_<n>.tar.gz` holding one `*.pgsql`.
///
/// The database is built in the local cluster with every object owned by a role that is
/// dropped once the dump is written, so restoring the sample meets the same missing-owner
/// situation as restoring a real Scalingo backup.
public struct SampleBackupBuilder: Sendable {
    public var context: RecetteContext
    public var sql: SampleDatabaseSQL
    public var appName: String
    public var backupNumber: Int

    /// - Parameter strapiMajor: 4 (Strapi v4's layout) or 5 (v5's: document versions, `_cmps`, `_lnk`).
    public init(context: RecetteContext, offers: Int = 25_000, housingAds: Int = 12_000, appName: String = "recette-sample", backupNumber: Int = 1,
                strapiMajor: Int = 4) {
        self.context = context
        let owner = appName.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }.map(String.init).joined() + "_owner"
        self.sql = SampleDatabaseSQL(offers: offers, housingAds: housingAds, owner: owner, strapiMajor: strapiMajor)
        self.appName = appName
        self.backupNumber = backupNumber
    }

    public func build(into outputDirectory: URL, now: Date = Date()) async throws -> SampleBackup {
        let logger = context.logger
        let runner = context.runner
        let baseName = "\(UTCStamp.string(from: now, pattern: "yyyyMMddHHmmss"))_\(appName)_\(backupNumber)"
        let archive = outputDirectory.appendingPathComponent(baseName + ".tar.gz")

        let cluster = context.localCluster
        let status = try await cluster.start()
        guard let port = status.port else { throw RecetteFailure("the local PostgreSQL server has no known port; run 'recette local stop' and retry") }
        // Named after this process and this build: builds running side by side (in other
        // processes, or in this one as the tests do) never share, nor drop, each other's database.
        let buildDatabase = "recette_sample_build_\(getpid())_\(UUID().uuidString.prefix(8).lowercased())"
        let admin = try PostgresConnection(url: cluster.url(database: "postgres", port: port))
        let owner = PostgresConnection.quoteIdentifier(sql.owner)
        let quotedBuild = PostgresConnection.quoteIdentifier(buildDatabase)
        func cleanUp() {
            try? admin.execute("DROP DATABASE IF EXISTS \(quotedBuild) WITH (FORCE)")
            try? admin.execute("DROP ROLE IF EXISTS \(owner)")
        }
        cleanUp()
        defer { cleanUp() }
        try admin.execute("CREATE ROLE \(owner) NOLOGIN")
        try admin.execute("CREATE DATABASE \(quotedBuild)")

        logger.info("building a Strapi v\(sql.strapiMajor)-shaped sample database: \(sql.offers) offers, \(sql.housingAds) housing ads")
        let connection = try PostgresConnection(url: cluster.url(database: buildDatabase, port: port))
        let statements = sql.statements
        // Each statement on the connection's own thread; Ctrl-C cancels the running one.
        try await connection.onOwnThread { try $0.execute("BEGIN") }
        for statement in statements {
            try Task.checkCancellation()
            try await connection.onOwnThread { try $0.execute(statement) }
        }
        try await connection.onOwnThread { try $0.execute("COMMIT") }

        let work = try WorkDirectory.create(in: context.stateDirectory, prefix: "sample-")
        defer { work.remove() }
        let workDirectory = work.url
        let dumpName = baseName + ".pgsql"
        logger.info("dumping it with pg_dump -Fc")
        try await runner.run(Command(try context.postgresTools.require(.pgDump),
                                     ["--format=custom", "--file=\(workDirectory.appendingPathComponent(dumpName).path)"],
                                     environment: cluster.clientEnvironment(database: buildDatabase, port: port)))

        try FileManager.default.createDirectory(at: outputDirectory, withIntermediateDirectories: true)
        let partial = archive.appendingPathExtension("part")
        try await runner.run(Command("tar", ["--create", "--gzip", "--file", partial.path, "--directory", workDirectory.path, "./" + dumpName]))
        _ = try? FileManager.default.removeItem(at: archive)
        try FileManager.default.moveItem(at: partial, to: archive)
        return SampleBackup(archive: archive, expectedRowCounts: sql.expectedRowCounts,
                            expectedPublishedCounts: sql.expectedPublishedCounts, ownerRole: sql.owner)
    }
}
