import ArgumentParser
import Foundation
import RecetteKit
import RecetteWorld

struct Pristine: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The pristine template of the last restore: which backup, when, its size; drop it to free the disk.",
        discussion: """
        Every restore keeps a template copy of the restored database, <db>__recette_pristine
        (a template that accepts no connections; compose: in the db service's server), unless
        --no-pristine. 'recette reset --pristine' clones it back into place in seconds. On the
        local and compose targets a ready copy of it, <db>__recette_spare, is made in the
        background (RECETTE_PRISTINE_SPARE): a reset renames it into place instead of copying.
        Dropping the template drops its ready copy too.

        Examples:
          recette pristine status
          recette pristine drop --yes
        """.reflowed,
        subcommands: [Status.self, Drop.self]
    )

    /// The template of the configured target's database, and a connection to its server.
    static func located(_ context: RecetteContext, what: String) async throws
        -> (template: PristineTemplate, admin: SQLSession, server: String) {
        let (server, database) = try await Targets.resolve(context).templateServer(for: what, cms: .endSessions)
        try await server.prepare()
        return (try PristineTemplate(database: database), try await server.maintenance(), server.serverDescription)
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the pristine template: backup, prepare settings, when, size on disk, server.")
        @OptionGroup(title: "Common options") var common: CommonOptions
        @OptionGroup(title: "Target") var targetOptions: TargetOptions

        func run() async throws {
            try await CommandRunner.run(common, flags: try targetOptions.flags()) { context in
                let (template, admin, server) = try await Pristine.located(context, what: "pristine status")
                guard let state = try await template.state(on: admin) else {
                    context.output.write("no pristine template of '\(template.names.base)' on \(server) (the next restore makes one)")
                    return
                }
                context.output.write("template: \(template.name) on \(server)")
                context.output.write("size: \(ByteCountFormatter.string(fromByteCount: state.bytes, countStyle: .binary))")
                guard let marker = state.marker else {
                    context.output.write("made by: not recette (no marker); 'recette reset --pristine' will not use it")
                    return
                }
                context.output.write("backup: \(marker.archive) (sha256 \(marker.checksum.prefix(12))…)")
                context.output.write("made: \(UTCStamp.string(from: marker.createdAt, pattern: "yyyy-MM-dd HH:mm:ss")) UTC")
                context.output.write("prepare settings: \(marker.prepare)" + (marker.prepare == (try PristineTemplate.prepareSettings(context.configuration, localWiring: true, target: context.configuration.text(.target))) ? " (today's)" : " (differ from today's: reset --pristine refuses it)"))
                context.output.write("restore options: \(marker.restoreOptions)")
                let spare = PristineSpare(names: template.names)
                switch try await spare.state(on: admin) {
                case .absent: context.output.write("ready copy: none (the next reset clones the template, then makes one)")
                case .beingMade: context.output.write("ready copy: \(spare.name), being made in the background")
                case .ready(let bytes): context.output.write("ready copy: \(spare.name), \(ByteCountFormatter.string(fromByteCount: bytes, countStyle: .binary)) (the next reset renames it into place)")
                case .unusable(let recettes): context.output.write("ready copy: \(spare.name) \(recettes ? "is older than the template: the next reset replaces it" : "is not recette's (it accepts connections, or has no CONNECTION LIMIT 0): never used")")
                }
            }
        }
    }

    struct Drop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Drop the pristine template (frees its disk; the next restore makes a new one).")
        @OptionGroup(title: "Common options") var common: CommonOptions
        @OptionGroup(title: "Target") var targetOptions: TargetOptions

        func run() async throws {
            try await CommandRunner.run(common, flags: try targetOptions.flags(), lock: "pristine drop") { context in
                let (template, admin, server) = try await Pristine.located(context, what: "pristine drop")
                guard let state = try await template.state(on: admin) else {
                    context.output.write("no pristine template of '\(template.names.base)' on \(server): nothing to drop")
                    return
                }
                guard !state.isForeign else {
                    throw RecetteFailure("'\(template.name)' on \(server) is not a template recette made; drop it yourself if it is not needed")
                }
                if context.dryRun {
                    context.output.write("would drop \(template.name) on \(server)")
                    return
                }
                try context.prompt.confirm("Drop the pristine template '\(template.name)' on \(server)?",
                                                          action: "drop \(template.name)", assumeYes: context.assumeYes)
                let spare = PristineSpare(names: template.names)
                var spareBytes: Int64 = 0
                if case .ready(let bytes) = try await spare.state(on: admin) { spareBytes = bytes }
                try await template.drop(on: admin)
                context.output.write("dropped \(template.name)" + (spareBytes > 0 ? " and its ready copy" : "")
                                     + " (\(ByteCountFormatter.string(fromByteCount: state.bytes + spareBytes, countStyle: .binary)) freed) on \(server)")
            }
        }
    }
}
