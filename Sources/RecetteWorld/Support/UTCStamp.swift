import Foundation

/// Dates as they appear in names recette gives things (report files, kept databases,
/// temporary indexes, sample archives): a fixed pattern, in UTC, whatever the user's locale.
public enum UTCStamp {
    /// `pattern` is a DateFormatter pattern, e.g. `yyyyMMdd'T'HHmmss`.
    public static func string(from date: Date, pattern: String) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = pattern
        return formatter.string(from: date)
    }
}
