import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import RecetteWorld

/// Starts the CMS (`docker compose up --wait <cms>`) and waits until its health URL answers
/// 2xx, polling with backoff until a deadline. A CMS that never comes up is reported with the
/// last lines of its log.
public struct CMSStarter: Sendable {
    public var project: ComposeProject?
    public var service: String
    public var healthURL: URL
    public var timeout: Duration
    public var http: any HTTPTransport
    public var logger: Logger
    /// The image of a `build:` service, built (when absent) before the health wait starts.
    public var builtImage: String?
    /// Log every build line (on a terminal), rather than one line per build step.
    public var showsWholeBuild: Bool
    /// The pauses between health requests (tests give a clock that does not wait).
    package var healthPolling = Polling(first: .milliseconds(100), longest: .seconds(2))

    public init(project: ComposeProject?, service: String, healthURL: URL, timeout: Duration, http: any HTTPTransport, logger: Logger,
                builtImage: String? = nil, showsWholeBuild: Bool = false) {
        self.builtImage = builtImage
        self.showsWholeBuild = showsWholeBuild
        self.project = project
        self.service = service
        self.healthURL = healthURL
        self.timeout = timeout
        self.http = http
        self.logger = logger
    }

    /// From the settings; on the compose target, the CMS service and its health URL not set
    /// are detected in the resolved project (`ComposeNames`).
    public static func configured(by context: RecetteContext, compose: Bool) async throws -> CMSStarter {
        let configuration = context.configuration
        let project = compose ? try ComposeProject.configured(by: context) : nil
        var names: ComposeNames?
        var builtImage: String?
        if let project {
            let (detected, resolved) = try await ComposeNames.resolve(context, project: project)
            names = detected
            if let service = resolved.services[detected.cmsService], service.builds {
                // compose names a built image `<project>-<service>` unless `image:` names it.
                builtImage = service.image ?? "\(resolved.name)-\(detected.cmsService)"
            }
        }
        // A detected health URL comes from the compose file's published port: an http URL.
        let url = try names?.detectedCMSHealthURL.flatMap(URL.init(string:)) ?? configuration.url(.cmsHealthURL)
        let seconds = try configuration.wholeNumber(.cmsStartTimeout)
        return CMSStarter(project: project,
                          service: names?.cmsService ?? configuration.text(.cmsService), healthURL: url, timeout: .seconds(seconds),
                          http: context.http, logger: context.logger, builtImage: builtImage, showsWholeBuild: context.terminal.standardErrorIsTTY)
    }

    /// Returns how long the CMS took to answer, its build (if any) not counted: the health
    /// wait's deadline starts once the image exists.
    @discardableResult
    public func start() async throws -> Duration {
        let clock = ContinuousClock()
        if let project, let builtImage { try await build(builtImage, project) }
        let started = clock.now
        if let project {
            logger.info("starting the CMS: docker compose up --wait \(service)")
            try await project.up(services: [service], wait: true, timeout: timeout)
        }
        try await waitUntilHealthy(deadline: started + timeout)
        return clock.now - started
    }

    /// The first `up` of a `build:` service builds its image, which can take minutes (npm
    /// install): built here first, its output shown, so the health wait's deadline is the
    /// CMS's own. An image that exists already is not rebuilt, as `up` would not either.
    func build(_ image: String, _ project: ComposeProject) async throws {
        if (try? await project.runner.output(of: project.dockerCommand(["image", "inspect", "--format", "{{.Id}}", image]))) != nil {
            return
        }
        logger.info("building the CMS image \(image): docker compose build \(service)")
        let (logger, whole, service) = (self.logger, showsWholeBuild, self.service)
        let command = project.command(["--progress", "plain", "build", service])
        // BuildKit's plain progress (on standard output; compose's own lines on standard error):
        // "#6 [strapi 2/3] RUN npm ci" opens a step.
        let log: @Sendable (String) -> Void = { line in
            if whole || line.range(of: #"^#\d+ \["#, options: .regularExpression) != nil {
                logger.info("\(service) build: \(line)")
            } else {
                logger.debug("\(service) build: \(line)")
            }
        }
        do {
            _ = try await project.runner.run(command, input: nil, output: .lines(log), onStandardErrorLine: log, acceptedExitStatuses: [0])
        } catch let error as ProcessError {
            throw RecetteFailure("building the CMS image failed (\(ComposeProject.lastLine(of: error))): see 'docker compose build \(service)'")
        }
    }

    public func waitUntilHealthy(deadline: ContinuousClock.Instant) async throws {
        var last = "no answer yet"
        let healthy = try await healthPolling.poll(until: deadline) { () -> Bool? in
            var request = URLRequest(url: healthURL, timeout: 5)
            request.httpMethod = "GET"
            do {
                let (_, response) = try await http.send(request)
                if (200..<300).contains(response.statusCode) { return true }
                last = "HTTP \(response.statusCode)"
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                last = "\(error)"
            }
            return nil
        }
        guard healthy == nil else { return }
        var message = "the CMS did not answer \(healthURL.absoluteString) within \(Int(timeout.seconds))s (last: \(last))"
        if let project {
            let lines = await project.logsTail(service: service, lines: 5)
            if !lines.isEmpty { message += "; last lines of its log: " + lines.joined(separator: " | ") }
            message += "; see 'docker compose logs \(service)'"
        } else {
            message += "; is it running? (RECETTE_CMS_HEALTH_URL)"
        }
        throw RecetteFailure(message)
    }
}
