import Foundation
import Testing
@testable import RecetteKit
@testable import RecetteWorld

@Suite struct GzipTests {
    @Test func roundTripsAndIsReadableByGunzip() throws {
        let text = String(repeating: "{\"id\":1,\"title\":\"Stage à Lyon\"}\n", count: 5000)
        let packed = try Gzip.compress(Data(text.utf8))
        #expect(packed.count < text.utf8.count / 10)
        #expect(packed.prefix(2) == Data([0x1f, 0x8b]))
        #expect(try Gzip.decompress(packed) == Data(text.utf8))

        // The system's gunzip reads what we write.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gzip-\(UUID().uuidString).gz")
        defer { try? FileManager.default.removeItem(at: file) }
        try packed.write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "gzip -dc \"$0\"", file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(out == Data(text.utf8))
    }

    @Test func refusesGarbageTruncationAndBombs() throws {
        #expect(throws: GzipError.self) { try Gzip.decompress(Data("not gzip".utf8)) }
        let packed = try Gzip.compress(Data(repeating: 0x41, count: 1_000_000))
        #expect(throws: GzipError.self) { try Gzip.decompress(packed.prefix(packed.count / 2)) }
        #expect(throws: GzipError.self) { try Gzip.decompress(packed, limit: 100_000) }
        #expect(try Gzip.decompress(packed, limit: 1_000_000).count == 1_000_000)
    }
}
