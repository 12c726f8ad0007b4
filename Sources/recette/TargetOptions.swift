import ArgumentParser
import RecetteKit
import RecetteWorld

typealias RestoreTarget = RestoreTargetKind
extension RestoreTargetKind: ExpressibleByArgument {}

/// `--target` and `--target-url`, the same on every command that reaches a database.
struct TargetOptions: ParsableArguments {
    @Option(help: "The database's target: local (recette's own cluster), compose (the project's db service) or url (default: RECETTE_TARGET, else local).")
    var target: RestoreTarget?

    @Option(help: ArgumentHelp("The url target's PostgreSQL URL (implies --target url); needed, with a confirmation, for a server that is not this machine.", valueName: "url"))
    var targetURL: String?

    /// The settings these flags give (a URL named here counts as chosen on the command line).
    func flags() throws -> [Setting: String] {
        var flags: [Setting: String] = [:]
        if let target { flags[.target] = target.rawValue }
        if let targetURL {
            if let target, target != .url { throw ValidationError("--target-url goes with --target url") }
            flags[.target] = RestoreTarget.url.rawValue
            flags[.databaseURL] = targetURL
        }
        return flags
    }
}
