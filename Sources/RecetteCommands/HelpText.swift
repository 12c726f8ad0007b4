import RecetteWorld
extension String {
    /// Joins the lines of each paragraph so ArgumentParser can wrap them to the terminal;
    /// lines indented by two spaces (examples) and blank lines are kept as they are.
    var reflowed: String {
        var paragraphs: [String] = []
        var current: [String] = []
        func flush() {
            if !current.isEmpty { paragraphs.append(current.joined(separator: " ")) }
            current = []
        }
        for line in split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.isEmpty {
                flush()
                paragraphs.append("")
            } else if line.hasPrefix("  ") {
                flush()
                paragraphs.append(line)
            } else {
                current.append(line)
            }
        }
        flush()
        return paragraphs.joined(separator: "\n")
    }
}
