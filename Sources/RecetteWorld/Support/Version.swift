public enum RecetteVersion { public static let current = "0.1.0" }
