import ArgumentParser
import RecetteKit
import RecetteWorld

struct Doctor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check prerequisites and print the resolved configuration (secrets redacted).",
        discussion: """
        Each prerequisite is reported ok, missing (with how to get it) or warning (not needed by
        the configured target). Exits 1 when something the configured target needs is missing.

        Example:
          recette doctor
        """.reflowed
    )

    @OptionGroup(title: "Common options") var common: CommonOptions

    func run() async throws {
        try await CommandRunner.run(common, validatingSettings: false, detectingSearchServer: true) { context in
            let output = context.output
            let configuration = context.configuration
            output.write("Configuration (project: \(configuration.projectDirectory.path); read: \(configuration.filesRead.isEmpty ? "no .env, no recette.yml" : configuration.filesRead.joined(separator: ", ")))")
            let rows = Setting.all.map { setting -> [String] in
                let resolved = configuration.resolved(setting)
                return [setting.environmentName, configuration.displayValue(setting) ?? "(not set)", resolved.map { "\($0.source.rawValue)" } ?? ""]
            }
            TextTable.render(header: ["setting", "value", "from"], rows: rows).forEach { output.write("  " + $0) }
            for problem in configuration.problems {
                output.write("  " + context.terminal.paint("invalid", .red) + "  \(problem)")
            }
            output.write("")
            output.write("Prerequisites (target: \(configuration.text(.target)))")
            let checks = await RecetteKit.Doctor(context: context).run()
            for check in checks {
                let mark: String
                switch check.outcome {
                case .ok: mark = context.terminal.paint("ok     ", .green)
                case .missing: mark = context.terminal.paint("missing", .red)
                case .warning: mark = context.terminal.paint("warning", .yellow)
                }
                output.write("  \(mark)  \(check.name): \(check.detail)" + (check.fix.map { " — fix: \($0)" } ?? ""))
            }
            if let problem = configuration.problems.first {
                throw RecetteFailure(configuration.problems.count == 1 ? "\(problem)" : "\(configuration.problems.count) settings are invalid (see above)")
            }
            if checks.contains(where: { $0.required && $0.outcome == .missing }) {
                throw RecetteFailure("some prerequisites of the '\(configuration.text(.target))' target are missing (see above)")
            }
        }
    }
}
