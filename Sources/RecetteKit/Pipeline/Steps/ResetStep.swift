import Foundation
import RecetteWorld

/// Step `reset` (`--from reset`), in place of `backup` and `restore`: the pristine template
/// of the last restore checked against today's prepare settings, cloned and swapped in
/// (`Restore/PristineSwap`). On the compose target the CMS service is stopped for the swap;
/// the `cms` step starts it again after its schema check (or, without that step, the reset
/// does).
extension Populate {
    private func pristineReset(_ target: any Target) -> PristineReset {
        PristineReset(context: context, target: target, keepWiring: !options.restore.localWiring,
                      cms: options.runs(.cms) ? .stop : .stopAndRestart)
    }

    func resetPlan(_ target: any Target) async throws -> [String] {
        ["  " + (try await pristineReset(target).plan())]
    }

    func resetStep(_ run: inout PopulateRun, _ record: inout PopulateStepRecord) async throws {
        let (lines, outcome) = try await pristineReset(try Targets.resolve(context)).run(confirm: nil)
        for line in lines.dropFirst() { context.logger.info("\(line)") }
        let size = ByteCountFormatter.string(fromByteCount: outcome.bytes, countStyle: .binary)
        record.detail = (outcome.fromSpare ? "the template's ready copy (\(size)) renamed into place" : "\(size) cloned from the pristine template") + (outcome.endedSessions > 0 ? ", \(outcome.endedSessions) session(s) ended" : "")
            + (outcome.note.map { "; " + $0 } ?? "")
    }
}
