import RecetteWorld
/// bcrypt (Provos and Mazières' eksblowfish), the way Strapi stores admin passwords: Strapi v4
/// and v5 hash with bcryptjs, `bcrypt.hash(password, 10)`, which gives `$2a$10$` followed by
/// 22 characters of salt and 31 of hash. Written here rather than taken from a package: none
/// is in the offline package list, and Strapi's own format is all recette needs.
///
/// The key is the password's UTF-8 bytes and a NUL, cut at 72 bytes (bcryptjs and OpenBSD's
/// `$2b$`; `$2a$` and `$2y$` read the same for every password shorter than 255 bytes).
public enum Bcrypt {
    /// Strapi's cost factor (2^10 rounds of the key schedule).
    public static let strapiCost = 10

    public struct InvalidHash: Error, CustomStringConvertible, Sendable {
        public var description: String { "not a bcrypt hash ($2a$, $2b$ or $2y$, a cost of 04 to 31, 53 characters of salt and hash)" }
    }

    /// A new hash of `password` with a random salt.
    public static func hash(_ password: String, cost: Int = strapiCost) -> String {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return hash(password, cost: cost, salt: salt)
    }

    /// The hash of `password` with a given 16-byte salt (tests: published vectors).
    public static func hash(_ password: String, cost: Int, salt: [UInt8], version: String = "2a") -> String {
        precondition(salt.count == 16 && (4...31).contains(cost), "bcrypt takes a 16-byte salt and a cost of 4 to 31")
        let digest = eksBlowfish(key: Array(password.utf8), salt: salt, cost: cost)
        return "$\(version)$" + (cost < 10 ? "0" : "") + "\(cost)$" + encode(salt) + encode(Array(digest.prefix(23)))
    }

    /// Whether `password` is the one `stored` was made from (bcryptjs's `compare`): the hash is
    /// computed again with the stored salt and cost, and compared in constant time.
    public static func verify(_ password: String, against stored: String) -> Bool {
        guard let (version, cost, salt) = try? parse(stored) else { return false }
        let computed = Array(hash(password, cost: cost, salt: salt, version: version).utf8)
        let given = Array(stored.utf8)
        guard computed.count == given.count else { return false }
        return zip(computed, given).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static func parse(_ stored: String) throws -> (version: String, cost: Int, salt: [UInt8]) {
        let bytes = Array(stored.utf8)
        guard bytes.count == 60, bytes[0] == UInt8(ascii: "$"), bytes[3] == UInt8(ascii: "$"), bytes[6] == UInt8(ascii: "$") else { throw InvalidHash() }
        let version = String(decoding: bytes[1...2], as: UTF8.self)
        guard ["2a", "2b", "2y"].contains(version), let cost = Int(String(decoding: bytes[4...5], as: UTF8.self)), (4...31).contains(cost),
              let salt = decode(Array(bytes[7..<29]), count: 16) else { throw InvalidHash() }
        return (version, cost, salt)
    }

    // MARK: bcrypt's base64 (its own alphabet, no padding)

    static let alphabet = Array("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)

    static func encode(_ data: [UInt8]) -> String {
        var out: [UInt8] = []
        var index = 0
        while index < data.count {
            let c1 = data[index]
            index += 1
            out.append(alphabet[Int(c1 >> 2)])
            var carry = (c1 & 0x03) << 4
            guard index < data.count else { out.append(alphabet[Int(carry)]); break }
            let c2 = data[index]
            index += 1
            out.append(alphabet[Int(carry | (c2 >> 4))])
            carry = (c2 & 0x0f) << 2
            guard index < data.count else { out.append(alphabet[Int(carry)]); break }
            let c3 = data[index]
            index += 1
            out.append(alphabet[Int(carry | (c3 >> 6))])
            out.append(alphabet[Int(c3 & 0x3f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: [UInt8], count: Int) -> [UInt8]? {
        var values: [UInt8] = []
        for character in text {
            guard let value = alphabet.firstIndex(of: character) else { return nil }
            values.append(UInt8(value))
        }
        var out: [UInt8] = []
        var index = 0
        while out.count < count, index + 1 < values.count {
            let (c1, c2) = (values[index], values[index + 1])
            out.append((c1 << 2) | ((c2 & 0x30) >> 4))
            guard out.count < count, index + 2 < values.count else { break }
            let c3 = values[index + 2]
            out.append(((c2 & 0x0f) << 4) | ((c3 & 0x3c) >> 2))
            guard out.count < count, index + 3 < values.count else { break }
            out.append(((c3 & 0x03) << 6) | values[index + 3])
            index += 4
        }
        return out.count == count ? out : nil
    }

    // MARK: eksblowfish

    /// The 24 bytes of "OrpheanBeholderScryDoubt" encrypted 64 times with the expensive key
    /// schedule's state.
    static func eksBlowfish(key password: [UInt8], salt: [UInt8], cost: Int) -> [UInt8] {
        let key = Array((password + [0]).prefix(72))
        let state = BlowfishState()
        state.expand(key: key, salt: salt)
        for _ in 0..<(1 << cost) {
            state.expand(key: key, salt: nil)
            state.expand(key: salt, salt: nil)
        }
        var words = BlowfishState.words(Array("OrpheanBeholderScryDoubt".utf8))
        for _ in 0..<64 {
            for pair in stride(from: 0, to: words.count, by: 2) {
                (words[pair], words[pair + 1]) = state.encipher(words[pair], words[pair + 1])
            }
        }
        return words.flatMap { word in (0..<4).map { UInt8(truncatingIfNeeded: word >> (24 - 8 * $0)) } }
    }
}

/// Blowfish's P-array and S-boxes, one buffer (P then S0…S3) so that the inner loop indexes
/// unchecked memory: cost 10 runs about a million block encryptions.
struct BlowfishState: ~Copyable {
    private let memory: UnsafeMutablePointer<UInt32>

    init() {
        memory = .allocate(capacity: 18 + 1024)
        BlowfishPi.p.withUnsafeBufferPointer { memory.initialize(from: $0.baseAddress!, count: 18) }
        BlowfishPi.s.withUnsafeBufferPointer { (memory + 18).initialize(from: $0.baseAddress!, count: 1024) }
    }

    deinit { memory.deallocate() }

    static func words(_ bytes: [UInt8]) -> [UInt32] {
        stride(from: 0, to: bytes.count, by: 4).map { i in bytes[i..<i + 4].reduce(0) { $0 << 8 | UInt32($1) } }
    }

    /// The next 4 bytes of `data` read cyclically, big-endian (OpenBSD's `Blowfish_stream2word`).
    @inline(__always)
    private static func streamWord(_ data: UnsafeBufferPointer<UInt8>, _ position: inout Int) -> UInt32 {
        var word: UInt32 = 0
        for _ in 0..<4 {
            word = word << 8 | UInt32(data[position])
            position = position + 1 == data.count ? 0 : position + 1
        }
        return word
    }

    @inline(__always)
    func encipher(_ left: UInt32, _ right: UInt32) -> (UInt32, UInt32) {
        let p = memory, s = memory + 18
        @inline(__always) func f(_ x: UInt32) -> UInt32 {
            ((s[Int(x >> 24)] &+ s[256 + Int((x >> 16) & 0xff)]) ^ s[512 + Int((x >> 8) & 0xff)]) &+ s[768 + Int(x & 0xff)]
        }
        var l = left ^ p[0], r = right
        var round = 1
        while round < 17 {
            r ^= f(l) ^ p[round]
            l ^= f(r) ^ p[round + 1]
            round += 2
        }
        return (r ^ p[17], l)
    }

    /// The key schedule: P XORed with the key, then P and S replaced by successive encryptions
    /// of the (salt-XORed, when there is a salt) running block.
    func expand(key: [UInt8], salt: [UInt8]?) {
        key.withUnsafeBufferPointer { key in
            var position = 0
            for i in 0..<18 { memory[i] ^= Self.streamWord(key, &position) }
        }
        let saltBytes = salt ?? []
        saltBytes.withUnsafeBufferPointer { saltBuffer in
            var position = 0
            var (l, r): (UInt32, UInt32) = (0, 0)
            var i = 0
            while i < 18 + 1024 {
                if salt != nil {
                    l ^= Self.streamWord(saltBuffer, &position)
                    r ^= Self.streamWord(saltBuffer, &position)
                }
                (l, r) = encipher(l, r)
                memory[i] = l
                memory[i + 1] = r
                i += 2
            }
        }
    }
}
