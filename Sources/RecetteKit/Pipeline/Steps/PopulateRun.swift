import Foundation
import RecetteWorld

/// What the steps of one `populate` run hand to each other: the backup the first step
/// obtained, and the report every step adds to.
public struct PopulateRun {
    public var archive: URL?
    public var report: PopulateReport
    /// Asked before a compose volume is deleted (after the backup is known good).
    public var confirmReset: (ComposeResetPlan) throws -> Void
}
