import ArgumentParser
import Foundation
import RecetteKit
import RecetteWorld

struct Reset: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reset only the database (the db service's container and its volume); other volumes stay.",
        discussion: """
        compose: stops and removes the containers of the db service (RECETTE_DB_SERVICE) and
        deletes its named volume (RECETTE_DB_VOLUME, resolved to its real Docker name by
        'docker compose config'), then starts the service again and waits until PostgreSQL
        accepts connections. Unlike 'docker compose down -v', the other volumes (search index,
        media) and the other services' containers stay.

        local: drops the database (RECETTE_DATABASE) of recette's own cluster and creates it
        empty. url (a review app through 'scalingo db-tunnel'…): creates an empty database
        beside DATABASE_URL's and renames it into its place; the replaced one is kept under
        a dated name until the next run, or dropped with --drop-previous. A server that is
        not this machine needs --target-url and a confirmation naming the database.

        --pristine: back to the pristine template the last restore kept (<db>__recette_pristine),
        cloned and swapped in like a restore; refused when there is none or it was made with
        other prepare settings. compose: the CMS service is stopped around the swap and started
        again if it was running. Then the search indexes are rebuilt unless --skip-reindex.

        Asks for confirmation on a terminal; elsewhere it needs --yes. --dry-run prints the
        commands and what would be destroyed, and changes nothing.

        Examples:
          recette reset --target compose --dry-run
          recette reset --target compose --yes
          recette reset --target-url postgresql://app@127.0.0.1:10000/my_review_app
          recette reset --pristine --target compose --yes
        """.reflowed
    )

    @OptionGroup(title: "Common options") var common: CommonOptions

    @OptionGroup(title: "Target") var targetOptions: TargetOptions

    @Flag(help: "url target: drop the replaced database instead of keeping it (dated) until the next run.")
    var dropPrevious = false

    @Option(help: ArgumentHelp("Seconds to wait for the database to be ready again (compose).", valueName: "seconds"))
    var waitTimeout = 120

    @Flag(help: "Back to the pristine template of the last restore: a file copy swapped in, in seconds (compose: the CMS service stopped around the swap and started again).")
    var pristine = false

    @Flag(help: "With --pristine: do not rebuild the search indexes afterwards.")
    var skipReindex = false

    @Flag(help: "With --pristine: the template was made with --keep-wiring (staging's Meilisearch and webhooks left in place).")
    var keepWiring = false

    func validate() throws {
        if waitTimeout < 1 { throw ValidationError("--wait-timeout must be at least 1 second") }
        if (skipReindex || keepWiring) && !pristine { throw ValidationError("--skip-reindex and --keep-wiring go with --pristine") }
    }

    func run() async throws {
        let waitTimeout = waitTimeout
        let flags = try targetOptions.flags()
        let (dropPrevious, pristine, skipReindex, keepWiring) = (dropPrevious, pristine, skipReindex, keepWiring)
        try await CommandRunner.run(common, flags: flags, lock: "reset", detectingSearchServer: true) { context in
            let target = try Targets.resolve(context, dropPrevious: dropPrevious)
            let prompt = context.prompt
            if pristine {
                try await Self.resetToPristine(context: context, target: target, skipReindex: skipReindex, keepWiring: keepWiring, prompt: prompt)
                return
            }
            let lines = try await target.resetDatabase(waitTimeout: .seconds(waitTimeout)) { question, action in
                try prompt.confirm(question, action: action, assumeYes: context.assumeYes)
            }
            lines.forEach(context.output.write)
        }
    }

    /// `--pristine`: the template of the last restore cloned and swapped in, then the indexes
    /// rebuilt from it.
    static func resetToPristine(context: RecetteContext, target: any Target, skipReindex: Bool, keepWiring: Bool,
                                prompt: ConfirmationPrompt) async throws {
        let reset = PristineReset(context: context, target: target, keepWiring: keepWiring, cms: .stopAndRestart)
        if context.dryRun {
            context.output.write("would, " + (try await reset.plan()) + (skipReindex ? "" : ", then rebuild the search indexes"))
            return
        }
        let (lines, _) = try await reset.run { question, action in
            try prompt.confirm(question, action: action, assumeYes: context.assumeYes)
        }
        lines.forEach(context.output.write)
        if !skipReindex {
            try await SearchCommands.reindex(context: context, via: nil, only: [], allowShrink: false, json: false)
        }
    }
}
