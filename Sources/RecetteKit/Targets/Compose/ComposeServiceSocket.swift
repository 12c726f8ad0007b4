import Foundation
import RecetteWorld

/// The db service's own Unix socket, reached from this machine through the container's root
/// (`/proc/<pid>/root/var/run/postgresql/.s.PGSQL.<port>`): libpq straight to the server, for a
/// service that publishes no port.
///
/// Why: reading rows through `docker exec … psql` relays every byte through psql, the
/// container's shim, dockerd and the docker client; on 2 busy cores that path reached 0.68× the
/// published port's throughput. The socket is the server's own, so this route is libpq at full
/// speed, and everything that reads by libpq only (the Strapi schema guard) works too.
///
/// It needs the engine on this machine and the right to enter a container's root (root, as
/// recette usually runs). Anything else — Docker Desktop, a remote DOCKER_HOST, a non-root user,
/// a server listening on TCP only — finds no socket, and the caller reads through `docker exec`.
struct ComposeServiceSocket: Equatable {
    /// The socket's directory as seen from this machine, e.g. `/proc/8595/root/var/run/postgresql`.
    var directory: String
    var port: Int

    /// Where PostgreSQL builds put their socket: Debian's (and the official image's) directory
    /// first, then the source build's default.
    static let directories = ["/var/run/postgresql", "/run/postgresql", "/tmp"]

    /// The socket of `container`'s server, if this machine can reach it. `preferredPort` (the
    /// service's PGPORT) chooses when a directory holds several sockets.
    static func locate(container: String, project: ComposeProject, preferredPort: Int?,
                       files: FileManager = .default) async -> ComposeServiceSocket? {
        guard let root = await containerRoot(container: container, project: project) else { return nil }
        return find(under: root, preferredPort: preferredPort, files: files)
    }

    /// `/proc/<pid>/root` of `container`'s main process, when the engine runs on this machine
    /// and that pid is really the container's here.
    static func containerRoot(container: String, project: ComposeProject) async -> String? {
        guard engineIsOnThisMachine(project.environment) else { return nil }
        guard let inspected = try? await project.runner.output(of: project.dockerCommand(["inspect", "--format", "{{.Id}} {{.State.Pid}}", container])) else { return nil }
        let fields = inspected.split(separator: " ").map(String.init)
        guard fields.count == 2, let pid = Int(fields[1]), pid > 0 else { return nil }
        let root = "/proc/\(pid)/root"
        // A pid is only a number: the process must be that container's on this machine (its
        // cgroup names the container's id), not whatever has that pid here.
        guard let cgroup = try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8), cgroup.contains(fields[0]) else { return nil }
        return root
    }

    /// The first of `directories` under `root` holding a PostgreSQL socket (`.s.PGSQL.<port>`).
    static func find(under root: String, preferredPort: Int?, files: FileManager = .default) -> ComposeServiceSocket? {
        for directory in directories {
            guard let path = resolve(directory, under: root, files: files),
                  let names = try? files.contentsOfDirectory(atPath: path) else { continue }
            let ports = names.compactMap { name -> Int? in
                // A link would be followed from this machine's root: never one.
                guard name.hasPrefix(".s.PGSQL."), (try? files.destinationOfSymbolicLink(atPath: path + "/" + name)) == nil else { return nil }
                return Int(name.dropFirst(".s.PGSQL.".count)) // ".lock" files do not parse
            }.sorted()
            guard !ports.isEmpty else { continue }
            let port = preferredPort.flatMap { ports.contains($0) ? $0 : nil } ?? ports[0]
            return ComposeServiceSocket(directory: path, port: port)
        }
        return nil
    }

    /// `path` inside the container whose root is `root`, every symbolic link followed inside it.
    ///
    /// Why by hand: the kernel resolves an absolute link met under `/proc/<pid>/root` against
    /// *this machine's* root. Most images have `/var/run -> /run`, so
    /// `/proc/<pid>/root/var/run/postgresql` is this machine's own `/run/postgresql`, where a
    /// local PostgreSQL keeps its socket: the wrong server. Relative links stay inside; absolute
    /// ones are re-rooted; `..` never climbs above the container's root.
    static func resolve(_ path: String, under root: String, files: FileManager = .default) -> String? {
        var pending = path.split(separator: "/").map(String.init)
        var resolved: [String] = []
        var links = 0
        while !pending.isEmpty {
            let component = pending.removeFirst()
            if component == "." || component.isEmpty { continue }
            if component == ".." { _ = resolved.popLast(); continue }
            let candidate = root + "/" + (resolved + [component]).joined(separator: "/")
            guard let target = try? files.destinationOfSymbolicLink(atPath: candidate) else {
                resolved.append(component)
                continue
            }
            links += 1
            guard links <= 16 else { return nil } // a loop
            if target.hasPrefix("/") { resolved = [] }
            pending = target.split(separator: "/").map(String.init) + pending
        }
        return root + "/" + resolved.joined(separator: "/")
    }

    /// The engine's processes are this machine's only with a local socket: no DOCKER_HOST, or
    /// a `unix://` one, and no other docker context chosen by the environment.
    static func engineIsOnThisMachine(_ environment: [String: String]) -> Bool {
        if let host = environment["DOCKER_HOST"], !host.isEmpty, !host.hasPrefix("unix://") { return false }
        if let context = environment["DOCKER_CONTEXT"], !context.isEmpty, context != "default" { return false }
        return true
    }

    /// libpq's connection string for this socket; the password, if any, goes in it (never argv).
    func connectionString(user: String, database: String, password: Secret?) -> String {
        var environment = ["PGHOST": directory, "PGPORT": String(port), "PGUSER": user, "PGCONNECT_TIMEOUT": "10"]
        if let password { environment["PGPASSWORD"] = password.reveal() }
        return PostgresConnection.connectionString(libpqEnvironment: environment, database: database)
    }
}
