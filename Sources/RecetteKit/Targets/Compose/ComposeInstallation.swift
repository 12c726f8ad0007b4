import Foundation
import RecetteWorld

/// The Docker pieces the compose target needs, checked before anything is run: the `docker`
/// client, Compose v2 as its `compose` plugin, and an engine that answers.
public struct ComposeInstallation: Sendable, Equatable {
    /// `docker compose version --short`, without a leading `v` (e.g. `2.40.3`).
    public var composeVersion: String
    /// The engine's version (e.g. `20.10.24+dfsg1`).
    public var engineVersion: String

    /// Checks the client, Compose v2 and the engine, in that order, so the error names the
    /// first thing to fix.
    public static func check(runner: any ProcessRunning, environment: [String: String] = [:]) async throws -> ComposeInstallation {
        let composeVersion = try await composeV2Version(runner: runner, environment: environment)
        let engineVersion: String
        do {
            engineVersion = try await runner.output(of: Command("docker", ["version", "--format", "{{.Server.Version}}"], environment: environment))
        } catch let error as ProcessError {
            if case .notFound = error { throw ComposeError.dockerMissing }
            throw ComposeError.engineUnreachable(reason: lastLine(of: error))
        }
        return ComposeInstallation(composeVersion: composeVersion, engineVersion: engineVersion)
    }

    /// Compose v2 and later (v5 followed v2) are the Go rewrite recette drives; v1 is the
    /// retired Python tool whose flags and output differ (no `--wait`, no `config --format json`).
    static func isSupported(_ version: String) -> Bool {
        guard let major = Int(version.split(separator: ".").first ?? "") else { return false }
        return major >= 2
    }

    private static func composeV2Version(runner: any ProcessRunning, environment: [String: String]) async throws -> String {
        do {
            let version = normalized(try await runner.output(of: Command("docker", ["compose", "version", "--short"], environment: environment)))
            if isSupported(version) { return version }
        } catch let error as ProcessError {
            if case .notFound = error { throw ComposeError.dockerMissing }
            // `docker: 'compose' is not a docker command`: look for a standalone binary below.
        }
        let standalone: String?
        do {
            standalone = normalized(try await runner.output(of: Command("docker-compose", ["version", "--short"], environment: environment)))
        } catch is ProcessError {
            standalone = nil
        }
        if let standalone, isSupported(standalone) { throw ComposeError.composeNotAPlugin(standaloneVersion: standalone) }
        throw ComposeError.composeV2Missing(legacyVersion: standalone.flatMap { $0.isEmpty ? nil : $0 })
    }

    /// `v2.40.3` → `2.40.3`; v1 answers `1.29.2` (older ones `docker-compose version 1.x, build …`).
    static func normalized(_ output: String) -> String {
        let firstLine = output.split(separator: "\n").first.map(String.init) ?? output
        let token = firstLine.split(separator: " ").first(where: { $0.first?.isNumber == true || ($0.first == "v" && $0.dropFirst().first?.isNumber == true) })
        let version = token.map(String.init) ?? firstLine
        return (version.hasPrefix("v") ? String(version.dropFirst()) : version).trimmingCharacters(in: CharacterSet(charactersIn: ", "))
    }

    private static func lastLine(of error: ProcessError) -> String {
        error.standardErrorTail.last(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) ?? error.description
    }
}
