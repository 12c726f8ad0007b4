import Foundation
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// recette's bcrypt against bcrypt's published vectors (OpenBSD's and jBCrypt's) and against
/// an implementation it shares nothing with: PostgreSQL's pgcrypto `crypt()`.
@Suite struct BcryptTests {
    /// (password, salt and cost, full hash): jBCrypt's test vectors, from OpenBSD's.
    static let vectors: [(String, String)] = [
        ("", "$2a$06$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s."),
        ("a", "$2a$06$m0CrhHm10qJ3lXRY.5zDGO3rS2KdeeWLuGmsfGlMfOxih58VYVfxe"),
        ("abc", "$2a$06$If6bvum7DFjUnE9p2uDeDu0YHzrHM6tf.iqN8.yx.jNN1ILEf7h0i"),
        ("abcdefghijklmnopqrstuvwxyz", "$2a$06$.rCVZVOThsIa97pEDOxvGuRRgzG64bvtJ0938xuqzv18d3ZpQhstC"),
        ("~!@#$%^&*()      ~!@#$%^&*()PNBFRD", "$2a$06$fPIsBO8qRqkjj273rfaOI.HtSV9jLDpTbZn782DC6/t7qT67P6FfO"),
    ]

    @Test func publishedVectors() throws {
        for (password, expected) in Self.vectors {
            let (version, cost, salt) = try Bcrypt.parse(expected)
            #expect(Bcrypt.hash(password, cost: cost, salt: salt, version: version) == expected, "\(password)")
            #expect(Bcrypt.verify(password, against: expected))
            #expect(!Bcrypt.verify(password + "x", against: expected))
        }
    }

    @Test func strapisFormat() {
        let hash = Bcrypt.hash("Recette-Admin-1")
        #expect(hash.hasPrefix("$2a$10$") && hash.count == 60, "\(hash)")
        #expect(Bcrypt.verify("Recette-Admin-1", against: hash))
        #expect(Bcrypt.hash("Recette-Admin-1") != hash, "a new salt each time")
        #expect(!Bcrypt.verify("Recette-Admin-1", against: "not a hash"))
    }

    /// pgcrypto checks our hashes and we check pgcrypto's, for UTF-8, long (cut at 72 bytes)
    /// and quoting-prone passwords.
    @Test(.tags(.postgres), .skippedInUnitLane) func agreesWithPgcrypto() async throws {
        let (cluster, port) = try await TestEnvironment.startedCluster()
        let admin = try PostgresConnection(url: cluster.url(database: "postgres", port: port))
        try admin.execute("DROP DATABASE IF EXISTS bcrypt_oracle")
        try admin.execute("CREATE DATABASE bcrypt_oracle")
        let oracle = try PostgresConnection(url: cluster.url(database: "bcrypt_oracle", port: port))
        try oracle.execute("CREATE EXTENSION pgcrypto")
        let passwords = ["Recette-Admin-1", "mot de passe é€ 🔑", String(repeating: "long-", count: 20), "it's \"me\" $x \\"]
        for password in passwords {
            let ours = Bcrypt.hash(password, cost: 5)
            #expect(try oracle.query("SELECT crypt($1, $2) = $2", [password, ours]).scalar == "t", "pgcrypto accepts our hash of \(password)")
            let theirs = try #require(try oracle.query("SELECT crypt($1, gen_salt('bf', 5))", [password]).scalar)
            #expect(Bcrypt.verify(password, against: theirs), "we accept pgcrypto's hash of \(password)")
            #expect(!Bcrypt.verify("!" + password, against: theirs))
        }
        // Only the first 72 bytes count, as in every bcrypt.
        let long = String(repeating: "a", count: 80)
        #expect(Bcrypt.verify(String(repeating: "a", count: 72) + "zzz", against: Bcrypt.hash(long, cost: 4)))
    }
}
