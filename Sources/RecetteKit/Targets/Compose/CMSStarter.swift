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
    /// The pauses between health requests (tests give a clock that does not wait).
    package var healthPolling = Polling(first: .milliseconds(100), longest: .seconds(2))

    public init(project: ComposeProject?, service: String, healthURL: URL, timeout: Duration, http: any HTTPTransport, logger: Logger) {
        self.project = project
        self.service = service
        self.healthURL = healthURL
        self.timeout = timeout
        self.http = http
        self.logger = logger
    }

    public static func configured(by context: RecetteContext, compose: Bool) throws -> CMSStarter {
        let configuration = context.configuration
        let text = configuration[.cmsHealthURL] ?? "http://127.0.0.1:1337/_health"
        guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme) else {
            throw RecetteFailure("RECETTE_CMS_HEALTH_URL '\(text)' is not an http(s) URL (Strapi answers /_health, e.g. http://127.0.0.1:1337/_health)")
        }
        guard let seconds = Int(configuration[.cmsStartTimeout] ?? "180"), seconds > 0 else {
            throw RecetteFailure("RECETTE_CMS_TIMEOUT must be a number of seconds, e.g. 180")
        }
        return CMSStarter(project: compose ? try ComposeProject.configured(by: context) : nil,
                          service: configuration[.cmsService] ?? "cms", healthURL: url, timeout: .seconds(seconds),
                          http: context.http, logger: context.logger)
    }

    /// Returns how long the CMS took to answer.
    @discardableResult
    public func start() async throws -> Duration {
        let clock = ContinuousClock()
        let started = clock.now
        if let project {
            logger.info("starting the CMS: docker compose up --wait \(service)")
            try await project.up(services: [service], wait: true, timeout: timeout)
        }
        try await waitUntilHealthy(deadline: started + timeout)
        return clock.now - started
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
