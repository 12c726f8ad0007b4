import Foundation
import Synchronization
import RecetteWorld

/// Restore progress weighted by data size: a TABLE DATA item counts for its block's size in
/// the archive; the items after the data (indexes, constraints…) share a third of the bar,
/// as they often take as long as the load. Without sizes (an archive format the reader does
/// not know) every item counts the same.
public final class RestoreProgress: Sendable {
    private let bar: ProgressBar
    private let weights: [Int: Int64]
    private let otherWeight: Int64
    private let done = Mutex<Int64>(0)
    public let total: Int64

    public init(toc: TableOfContents, dataSizes: [Int: Int64]?, bar: ProgressBar) {
        self.bar = bar
        let data = toc.entries.filter { $0.type == "TABLE DATA" }
        let others = toc.entries.count - data.count
        if let dataSizes, !dataSizes.isEmpty {
            let dataTotal = max(1, dataSizes.values.reduce(0, +))
            weights = dataSizes
            otherWeight = others > 0 ? max(1, dataTotal / 2 / Int64(others)) : 0
        } else {
            weights = [:]
            otherWeight = 1
        }
        total = weights.values.reduce(0, +) + Int64(toc.entries.count - weights.count) * otherWeight
        bar.begin(total: total, from: 0)
    }

    public func finished(_ item: ItemTiming) {
        let weight = item.id.flatMap { weights[$0] } ?? otherWeight
        let value = done.withLock { done -> Int64 in
            done = min(total, done + weight)
            return done
        }
        bar.update(value, detail: item.type == "?" ? nil : "\(item.type.lowercased()) \(item.name)")
    }

    public func finish() { bar.finish() }
}
