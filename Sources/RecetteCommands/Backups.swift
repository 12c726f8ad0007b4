import ArgumentParser
import Foundation
import RecetteKit
import RecetteWorld

struct Backups: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the PostgreSQL addon's backups: id, date, size, status, method; newest first.",
        discussion: """
        Talks to Scalingo's API directly (no Scalingo CLI needed) with SCALINGO_API_TOKEN,
        SCALINGO_APP, SCALINGO_REGION and ADDON_NAME (an addon id, 'postgresql' or an alias
        such as 'psql'). Sorted by creation date, whatever order the API answers in.

        Examples:
          recette backups
          recette backups --json | jq -r '.[0].id'
        """.reflowed
    )
    @OptionGroup(title: "Common options") var common: CommonOptions
    @Flag(help: "Print JSON (an array of backups, newest first) instead of a table.") var json = false
    @Flag(help: "Ask the installed 'scalingo' CLI instead of the API, and print its table as it is.") var scalingoCli = false

    func validate() throws {
        if json && scalingoCli { throw ValidationError("--json needs the API route; drop --scalingo-cli") }
    }

    func run() async throws {
        let (json, viaCLI) = (json, scalingoCli)
        try await CommandRunner.run(common) { context in
            if viaCLI {
                context.output.write(try await ScalingoCLI(context: context).backupsTable())
                return
            }
            let source = try ScalingoBackupSource(context: context)
            let (addon, backups) = try await source.backups()
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                context.output.write(String(decoding: try encoder.encode(backups), as: UTF8.self))
                return
            }
            context.logger.info("app \(source.app), addon \(addon.id) (\(addon.providerID)): \(backups.count) backups")
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
            let rows = backups.map { [$0.id, formatter.string(from: $0.createdAt), $0.size.map(ByteCount.human) ?? "-", $0.status, $0.method ?? "-"] }
            TextTable.render(header: ["id", "created", "size", "status", "method"], rows: rows, rightAligned: [2]).forEach(context.output.write)
        }
    }
}
