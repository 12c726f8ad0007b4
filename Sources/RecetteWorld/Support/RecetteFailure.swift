/// A failure explained for a person: one line saying what happened and what to do.
public struct RecetteFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
