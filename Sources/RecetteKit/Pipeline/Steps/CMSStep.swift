import Foundation
import RecetteWorld

/// Step 3, `cms`: the target's CMS started (compose: its service) and waited for on its
/// health URL; a target without one skips it.
extension Populate {
    func cmsPlan(_ target: any Target) throws -> [String] {
        guard let starter = try target.cms() else { return ["  nothing to start: the \(target.kind.rawValue) target runs no CMS"] }
        return ["  run: docker compose up --detach --wait \(starter.service), then poll \(starter.healthURL.absoluteString) (up to \(Int(starter.timeout.seconds))s)"]
    }

    func cmsStep(_ run: inout PopulateRun, _ record: inout PopulateStepRecord) async throws {
        guard let starter = try Targets.resolve(context).cms() else {
            record.status = .skipped
            record.detail = "the \(run.report.target) target runs no CMS"
            return
        }
        try await starter.start()
        record.detail = "\(starter.service) answers \(starter.healthURL.absoluteString)"
    }
}
