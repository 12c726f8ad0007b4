import ArgumentParser
import RecetteKit
import RecetteWorld

/// What `restore` and `populate` do to the copy beyond pg_restore: the prepare phase and the
/// pristine template.
struct CopyOptions: ParsableArguments {
    @Flag(help: "Leave staging's wiring in the copy: the Meilisearch plugin's stored host and key, enabled webhooks.")
    var keepWiring = false

    @Flag(help: "Keep no pristine template of the result (see 'recette reset --pristine').")
    var noPristine = false

    @Flag(help: "Run pg_restore even when the pristine template already holds this backup.")
    var fresh = false

    func apply(to options: inout RestoreOptions) {
        options.localWiring = !keepWiring
        options.pristine = !noPristine
        options.fresh = fresh
    }
}
