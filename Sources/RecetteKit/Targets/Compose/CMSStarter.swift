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
        return CMSStarter(project: compose ? try ComposeProject.configured(by: context) : nil,
                          service: configuration.text(.cmsService), healthURL: try configuration.url(.cmsHealthURL),
                          timeout: .seconds(try configuration.wholeNumber(.cmsStartTimeout)),
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
        let clock = ContinuousClock()
        var delay: Duration = .milliseconds(100)
        var last = "no answer yet"
        while true {
            try Task.checkCancellation()
            var request = URLRequest(url: healthURL, timeout: 5)
            request.httpMethod = "GET"
            do {
                let (_, response) = try await http.send(request)
                if (200..<300).contains(response.statusCode) { return }
                last = "HTTP \(response.statusCode)"
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                last = "\(error)"
            }
            if clock.now + delay > deadline {
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
            try await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(2))
        }
    }
}
